from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListManagedResourcesRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListManagedResourcesResponse(_message.Message):
    __slots__ = ["next_page_token", "resources"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    resources: _containers.RepeatedCompositeFieldContainer[ManagedResource]
    def __init__(self, resources: _Optional[_Iterable[_Union[ManagedResource, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ManagedResource(_message.Message):
    __slots__ = ["kind", "manager", "name", "update_time"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MANAGER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    manager: str
    name: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., manager: _Optional[str] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
