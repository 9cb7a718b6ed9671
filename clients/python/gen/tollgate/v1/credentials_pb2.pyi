from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CredentialReference(_message.Message):
    __slots__ = ["change_time", "error", "failures", "provider_id", "ref", "refresh_time", "resolved"]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TIME_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    change_time: _timestamp_pb2.Timestamp
    error: str
    failures: int
    provider_id: str
    ref: str
    refresh_time: _timestamp_pb2.Timestamp
    resolved: bool
    def __init__(self, provider_id: _Optional[str] = ..., ref: _Optional[str] = ..., resolved: bool = ..., refresh_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., change_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., failures: _Optional[int] = ...) -> None: ...

class GetMasterKeyStatusRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetMasterKeyStatusResponse(_message.Message):
    __slots__ = ["key_ids", "primary_key_id", "sealed_by_key"]
    class SealedByKeyEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SEALED_BY_KEY_FIELD_NUMBER: _ClassVar[int]
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    primary_key_id: str
    sealed_by_key: _containers.ScalarMap[str, int]
    def __init__(self, primary_key_id: _Optional[str] = ..., key_ids: _Optional[_Iterable[str]] = ..., sealed_by_key: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ListCredentialReferencesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListCredentialReferencesResponse(_message.Message):
    __slots__ = ["references"]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    references: _containers.RepeatedCompositeFieldContainer[CredentialReference]
    def __init__(self, references: _Optional[_Iterable[_Union[CredentialReference, _Mapping]]] = ...) -> None: ...

class RefreshCredentialsRequest(_message.Message):
    __slots__ = ["provider_id"]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    def __init__(self, provider_id: _Optional[str] = ...) -> None: ...

class RefreshCredentialsResponse(_message.Message):
    __slots__ = ["references"]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    references: _containers.RepeatedCompositeFieldContainer[CredentialReference]
    def __init__(self, references: _Optional[_Iterable[_Union[CredentialReference, _Mapping]]] = ...) -> None: ...

class RotateMasterKeyRequest(_message.Message):
    __slots__ = ["key_id"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RotateMasterKeyResponse(_message.Message):
    __slots__ = ["key_id", "resealed"]
    class ResealedEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RESEALED_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    resealed: _containers.ScalarMap[str, int]
    def __init__(self, key_id: _Optional[str] = ..., resealed: _Optional[_Mapping[str, int]] = ...) -> None: ...
