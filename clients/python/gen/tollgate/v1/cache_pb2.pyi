from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate._googleapis import money_pb2 as _money_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

CACHE_MODE_EXACT: CacheMode
CACHE_MODE_OFF: CacheMode
CACHE_MODE_SEMANTIC: CacheMode
CACHE_MODE_UNSPECIFIED: CacheMode
DESCRIPTOR: _descriptor.FileDescriptor

class CachePolicy(_message.Message):
    __slots__ = ["mode", "namespace", "threshold", "ttl"]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    mode: CacheMode
    namespace: str
    threshold: float
    ttl: _duration_pb2.Duration
    def __init__(self, mode: _Optional[_Union[CacheMode, str]] = ..., threshold: _Optional[float] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class CacheScope(_message.Message):
    __slots__ = ["key_id", "shared", "team_id"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    shared: str
    team_id: str
    def __init__(self, team_id: _Optional[str] = ..., key_id: _Optional[str] = ..., shared: _Optional[str] = ...) -> None: ...

class GetCacheStatsRequest(_message.Message):
    __slots__ = ["scope"]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: CacheScope
    def __init__(self, scope: _Optional[_Union[CacheScope, _Mapping]] = ...) -> None: ...

class GetCacheStatsResponse(_message.Message):
    __slots__ = ["bypasses", "bytes", "default_mode", "default_ttl", "dropped", "embedding_model", "entries", "hits_exact", "hits_semantic", "local_bytes", "local_entries", "local_hits", "lookup_errors", "misses", "saved", "write_errors", "writes"]
    BYPASSES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TTL_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HITS_EXACT_FIELD_NUMBER: _ClassVar[int]
    HITS_SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    LOCAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_HITS_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_ERRORS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    SAVED_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    WRITE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    bypasses: int
    bytes: int
    default_mode: CacheMode
    default_ttl: _duration_pb2.Duration
    dropped: int
    embedding_model: str
    entries: int
    hits_exact: int
    hits_semantic: int
    local_bytes: int
    local_entries: int
    local_hits: int
    lookup_errors: int
    misses: int
    saved: _money_pb2.Money
    write_errors: int
    writes: int
    def __init__(self, entries: _Optional[int] = ..., bytes: _Optional[int] = ..., local_entries: _Optional[int] = ..., local_bytes: _Optional[int] = ..., hits_exact: _Optional[int] = ..., hits_semantic: _Optional[int] = ..., local_hits: _Optional[int] = ..., misses: _Optional[int] = ..., bypasses: _Optional[int] = ..., lookup_errors: _Optional[int] = ..., writes: _Optional[int] = ..., write_errors: _Optional[int] = ..., dropped: _Optional[int] = ..., saved: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., default_mode: _Optional[_Union[CacheMode, str]] = ..., embedding_model: _Optional[str] = ..., default_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PurgeCacheRequest(_message.Message):
    __slots__ = ["model", "older_than", "scope"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OLDER_THAN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    model: str
    older_than: _timestamp_pb2.Timestamp
    scope: CacheScope
    def __init__(self, scope: _Optional[_Union[CacheScope, _Mapping]] = ..., model: _Optional[str] = ..., older_than: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PurgeCacheResponse(_message.Message):
    __slots__ = ["deleted"]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class CacheMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
