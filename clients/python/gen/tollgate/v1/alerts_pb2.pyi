from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALERT_KIND_BUDGET_THRESHOLD: AlertKind
ALERT_KIND_SPEND_VELOCITY: AlertKind
ALERT_KIND_UNSPECIFIED: AlertKind
DESCRIPTOR: _descriptor.FileDescriptor

class AdminAuditEvent(_message.Message):
    __slots__ = ["action", "actor", "id", "outcome", "request_id", "resource_id", "resource_kind", "summary", "time"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    id: int
    outcome: str
    request_id: str
    resource_id: str
    resource_kind: str
    summary: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., resource_kind: _Optional[str] = ..., resource_id: _Optional[str] = ..., request_id: _Optional[str] = ..., summary: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class AlertWebhook(_message.Message):
    __slots__ = ["create_time", "id", "kinds", "team_id", "url", "url_hint"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    URL_HINT_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    id: str
    kinds: _containers.RepeatedScalarFieldContainer[AlertKind]
    team_id: str
    url: str
    url_hint: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., url_hint: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[AlertKind, str]]] = ..., team_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAlertWebhookRequest(_message.Message):
    __slots__ = ["secret", "webhook"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    secret: str
    webhook: AlertWebhook
    def __init__(self, webhook: _Optional[_Union[AlertWebhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class CreateAlertWebhookResponse(_message.Message):
    __slots__ = ["secret", "webhook"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    secret: str
    webhook: AlertWebhook
    def __init__(self, webhook: _Optional[_Union[AlertWebhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class DeleteAlertWebhookRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteAlertWebhookResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAdminAuditEventsRequest(_message.Message):
    __slots__ = ["action", "end_time", "page_size", "page_token", "resource_id", "resource_kind", "start_time"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    action: str
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    resource_id: str
    resource_kind: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[str] = ..., resource_kind: _Optional[str] = ..., resource_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAdminAuditEventsResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AdminAuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AdminAuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAlertWebhooksRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAlertWebhooksResponse(_message.Message):
    __slots__ = ["webhooks"]
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[AlertWebhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[AlertWebhook, _Mapping]]] = ...) -> None: ...

class AlertKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
