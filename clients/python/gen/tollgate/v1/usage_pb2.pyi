from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate._googleapis import money_pb2 as _money_pb2
from tollgate.v1 import common_pb2 as _common_pb2
from tollgate.v1 import governance_pb2 as _governance_pb2
from tollgate.v1 import guardrails_pb2 as _guardrails_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EXPORT_FORMAT_CSV: ExportFormat
EXPORT_FORMAT_JSON_LINES: ExportFormat
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
REQUEST_STATUS_CANCELED: RequestStatus
REQUEST_STATUS_FORBIDDEN: RequestStatus
REQUEST_STATUS_INTERNAL_ERROR: RequestStatus
REQUEST_STATUS_INVALID: RequestStatus
REQUEST_STATUS_LIMITED: RequestStatus
REQUEST_STATUS_OK: RequestStatus
REQUEST_STATUS_UNAUTHENTICATED: RequestStatus
REQUEST_STATUS_UNSPECIFIED: RequestStatus
REQUEST_STATUS_UPSTREAM_ERROR: RequestStatus
USAGE_BUCKET_DAY: UsageBucket
USAGE_BUCKET_HOUR: UsageBucket
USAGE_BUCKET_UNSPECIFIED: UsageBucket
USAGE_DIMENSION_END_USER: UsageDimension
USAGE_DIMENSION_GUARDRAIL: UsageDimension
USAGE_DIMENSION_KEY: UsageDimension
USAGE_DIMENSION_KEY_CREATOR: UsageDimension
USAGE_DIMENSION_MODEL: UsageDimension
USAGE_DIMENSION_PROVIDER: UsageDimension
USAGE_DIMENSION_SERVICE: UsageDimension
USAGE_DIMENSION_TAG: UsageDimension
USAGE_DIMENSION_TEAM: UsageDimension
USAGE_DIMENSION_UNSPECIFIED: UsageDimension

class AdminAuditEvent(_message.Message):
    __slots__ = ["action", "actor", "actor_detail", "id", "outcome", "request_id", "resource_id", "resource_kind", "source_ip", "summary", "time", "user_agent"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_DETAIL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    actor_detail: AuditActor
    id: int
    outcome: str
    request_id: str
    resource_id: str
    resource_kind: str
    source_ip: str
    summary: str
    time: _timestamp_pb2.Timestamp
    user_agent: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., resource_kind: _Optional[str] = ..., resource_id: _Optional[str] = ..., request_id: _Optional[str] = ..., summary: _Optional[str] = ..., outcome: _Optional[str] = ..., actor_detail: _Optional[_Union[AuditActor, _Mapping]] = ..., source_ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class AuditActor(_message.Message):
    __slots__ = ["issuer", "name", "role", "subject", "token_id", "type"]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    issuer: str
    name: str
    role: str
    subject: str
    token_id: str
    type: str
    def __init__(self, type: _Optional[str] = ..., subject: _Optional[str] = ..., name: _Optional[str] = ..., token_id: _Optional[str] = ..., role: _Optional[str] = ..., issuer: _Optional[str] = ...) -> None: ...

class ExportRequestRecordsRequest(_message.Message):
    __slots__ = ["end_time", "end_user", "format", "key_id", "model", "service_id", "start_time", "status", "tag", "team_id"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    END_USER_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    end_user: str
    format: ExportFormat
    key_id: str
    model: str
    service_id: str
    start_time: _timestamp_pb2.Timestamp
    status: RequestStatus
    tag: str
    team_id: str
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., team_id: _Optional[str] = ..., key_id: _Optional[str] = ..., model: _Optional[str] = ..., end_user: _Optional[str] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., service_id: _Optional[str] = ..., status: _Optional[_Union[RequestStatus, str]] = ..., tag: _Optional[str] = ...) -> None: ...

class ExportRequestRecordsResponse(_message.Message):
    __slots__ = ["data", "records"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    records: int
    def __init__(self, data: _Optional[bytes] = ..., records: _Optional[int] = ...) -> None: ...

class GetUsageSummaryRequest(_message.Message):
    __slots__ = ["bucket", "end_time", "group_by", "start_time", "team_id"]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    bucket: UsageBucket
    end_time: _timestamp_pb2.Timestamp
    group_by: _containers.RepeatedScalarFieldContainer[UsageDimension]
    start_time: _timestamp_pb2.Timestamp
    team_id: str
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[UsageDimension, str]]] = ..., team_id: _Optional[str] = ..., bucket: _Optional[_Union[UsageBucket, str]] = ...) -> None: ...

class GetUsageSummaryResponse(_message.Message):
    __slots__ = ["groups", "total"]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[UsageGroup]
    total: UsageGroup
    def __init__(self, groups: _Optional[_Iterable[_Union[UsageGroup, _Mapping]]] = ..., total: _Optional[_Union[UsageGroup, _Mapping]] = ...) -> None: ...

class ListAdminAuditEventsRequest(_message.Message):
    __slots__ = ["action", "actor", "end_time", "outcome", "page_size", "page_token", "resource_id", "resource_kind", "start_time"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    end_time: _timestamp_pb2.Timestamp
    outcome: str
    page_size: int
    page_token: str
    resource_id: str
    resource_kind: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[str] = ..., resource_kind: _Optional[str] = ..., resource_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., actor: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class ListAdminAuditEventsResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AdminAuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AdminAuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRequestRecordsRequest(_message.Message):
    __slots__ = ["end_time", "end_user", "key_creator", "key_id", "model", "page_size", "page_token", "request_id", "service_id", "start_time", "status", "tag", "team_id"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    END_USER_FIELD_NUMBER: _ClassVar[int]
    KEY_CREATOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    end_user: str
    key_creator: str
    key_id: str
    model: str
    page_size: int
    page_token: str
    request_id: str
    service_id: str
    start_time: _timestamp_pb2.Timestamp
    status: RequestStatus
    tag: str
    team_id: str
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., team_id: _Optional[str] = ..., key_id: _Optional[str] = ..., model: _Optional[str] = ..., end_user: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., service_id: _Optional[str] = ..., status: _Optional[_Union[RequestStatus, str]] = ..., tag: _Optional[str] = ..., request_id: _Optional[str] = ..., key_creator: _Optional[str] = ...) -> None: ...

class ListRequestRecordsResponse(_message.Message):
    __slots__ = ["next_page_token", "records"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    records: _containers.RepeatedCompositeFieldContainer[RequestRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[RequestRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RequestRecord(_message.Message):
    __slots__ = ["attempts", "cache_status", "cost", "dropped_params", "end_user", "error_code", "guardrail_verdicts", "key_creator", "key_id", "latency", "model", "operation", "partial", "provider", "request_id", "requested_model", "saved", "service_id", "status", "stream", "surface", "tags", "team_id", "time", "time_to_first_token", "usage"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CACHE_STATUS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    DROPPED_PARAMS_FIELD_NUMBER: _ClassVar[int]
    END_USER_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_VERDICTS_FIELD_NUMBER: _ClassVar[int]
    KEY_CREATOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SAVED_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    cache_status: str
    cost: _money_pb2.Money
    dropped_params: _containers.RepeatedScalarFieldContainer[str]
    end_user: str
    error_code: str
    guardrail_verdicts: _containers.RepeatedCompositeFieldContainer[_guardrails_pb2.GuardrailVerdict]
    key_creator: str
    key_id: str
    latency: _duration_pb2.Duration
    model: str
    operation: str
    partial: bool
    provider: str
    request_id: str
    requested_model: str
    saved: _money_pb2.Money
    service_id: str
    status: RequestStatus
    stream: bool
    surface: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    team_id: str
    time: _timestamp_pb2.Timestamp
    time_to_first_token: _duration_pb2.Duration
    usage: _common_pb2.Usage
    def __init__(self, request_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., team_id: _Optional[str] = ..., service_id: _Optional[str] = ..., end_user: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., surface: _Optional[str] = ..., operation: _Optional[str] = ..., stream: bool = ..., requested_model: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., status: _Optional[_Union[RequestStatus, str]] = ..., error_code: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., latency: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., time_to_first_token: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., attempts: _Optional[int] = ..., cache_status: _Optional[str] = ..., saved: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., guardrail_verdicts: _Optional[_Iterable[_Union[_guardrails_pb2.GuardrailVerdict, _Mapping]]] = ..., partial: bool = ..., dropped_params: _Optional[_Iterable[str]] = ..., key_creator: _Optional[str] = ...) -> None: ...

class UsageGroup(_message.Message):
    __slots__ = ["bucket_start_time", "cache_hits", "cost", "errors", "keys", "requests", "saved", "usage"]
    BUCKET_START_TIME_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SAVED_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    bucket_start_time: _timestamp_pb2.Timestamp
    cache_hits: int
    cost: _money_pb2.Money
    errors: int
    keys: _containers.RepeatedScalarFieldContainer[str]
    requests: int
    saved: _money_pb2.Money
    usage: _common_pb2.Usage
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., bucket_start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cache_hits: _Optional[int] = ..., saved: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class RequestStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class UsageDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class UsageBucket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
