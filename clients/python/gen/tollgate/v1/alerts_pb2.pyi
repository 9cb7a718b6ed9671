from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALERT_KIND_BUDGET_THRESHOLD: AlertKind
ALERT_KIND_CREDENTIAL_REFRESH: AlertKind
ALERT_KIND_SPEND_VELOCITY: AlertKind
ALERT_KIND_UNSPECIFIED: AlertKind
DESCRIPTOR: _descriptor.FileDescriptor

class AlertWebhook(_message.Message):
    __slots__ = ["create_time", "etag", "id", "kinds", "team_id", "url", "url_hint"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    URL_HINT_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    etag: str
    id: str
    kinds: _containers.RepeatedScalarFieldContainer[AlertKind]
    team_id: str
    url: str
    url_hint: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., url_hint: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[AlertKind, str]]] = ..., team_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

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
    __slots__ = ["etag", "id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    id: str
    def __init__(self, id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteAlertWebhookResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListAlertWebhooksRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertWebhooksResponse(_message.Message):
    __slots__ = ["next_page_token", "webhooks"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    webhooks: _containers.RepeatedCompositeFieldContainer[AlertWebhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[AlertWebhook, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AlertKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
