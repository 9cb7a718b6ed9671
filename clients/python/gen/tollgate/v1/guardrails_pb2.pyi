from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
GUARDRAIL_ATTACH_KIND_KEY: GuardrailAttachKind
GUARDRAIL_ATTACH_KIND_ROUTE: GuardrailAttachKind
GUARDRAIL_ATTACH_KIND_SERVICE: GuardrailAttachKind
GUARDRAIL_ATTACH_KIND_TEAM: GuardrailAttachKind
GUARDRAIL_ATTACH_KIND_UNSPECIFIED: GuardrailAttachKind
GUARDRAIL_MODE_MUTATE: GuardrailMode
GUARDRAIL_MODE_UNSPECIFIED: GuardrailMode
GUARDRAIL_MODE_VALIDATE: GuardrailMode
GUARDRAIL_ON_MATCH_BLOCK: GuardrailOnMatch
GUARDRAIL_ON_MATCH_FLAG: GuardrailOnMatch
GUARDRAIL_ON_MATCH_UNSPECIFIED: GuardrailOnMatch
GUARDRAIL_STAGE_BOTH: GuardrailStage
GUARDRAIL_STAGE_INPUT: GuardrailStage
GUARDRAIL_STAGE_OUTPUT: GuardrailStage
GUARDRAIL_STAGE_UNSPECIFIED: GuardrailStage

class CreateGuardrailPolicyRequest(_message.Message):
    __slots__ = ["policy"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class CreateGuardrailPolicyResponse(_message.Message):
    __slots__ = ["policy"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class DeleteGuardrailPolicyRequest(_message.Message):
    __slots__ = ["etag", "id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    id: str
    def __init__(self, id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteGuardrailPolicyResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetGuardrailPolicyRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetGuardrailPolicyResponse(_message.Message):
    __slots__ = ["policy"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class Guardrail(_message.Message):
    __slots__ = ["config", "fail_open", "kind", "mode", "name", "on_match", "scope", "stage"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    FAIL_OPEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ON_MATCH_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    config: _struct_pb2.Struct
    fail_open: bool
    kind: str
    mode: GuardrailMode
    name: str
    on_match: GuardrailOnMatch
    scope: _containers.RepeatedScalarFieldContainer[str]
    stage: GuardrailStage
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., stage: _Optional[_Union[GuardrailStage, str]] = ..., mode: _Optional[_Union[GuardrailMode, str]] = ..., on_match: _Optional[_Union[GuardrailOnMatch, str]] = ..., fail_open: bool = ..., scope: _Optional[_Iterable[str]] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GuardrailPolicy(_message.Message):
    __slots__ = ["attach_kind", "attach_to", "create_time", "description", "etag", "guardrails", "id", "update_time"]
    ATTACH_KIND_FIELD_NUMBER: _ClassVar[int]
    ATTACH_TO_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    GUARDRAILS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    attach_kind: GuardrailAttachKind
    attach_to: str
    create_time: _timestamp_pb2.Timestamp
    description: str
    etag: str
    guardrails: _containers.RepeatedCompositeFieldContainer[Guardrail]
    id: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., attach_kind: _Optional[_Union[GuardrailAttachKind, str]] = ..., attach_to: _Optional[str] = ..., guardrails: _Optional[_Iterable[_Union[Guardrail, _Mapping]]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class GuardrailVerdict(_message.Message):
    __slots__ = ["action", "categories", "count", "guardrail", "kind", "policy", "stage"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    action: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    count: int
    guardrail: str
    kind: str
    policy: str
    stage: GuardrailStage
    def __init__(self, policy: _Optional[str] = ..., guardrail: _Optional[str] = ..., kind: _Optional[str] = ..., stage: _Optional[_Union[GuardrailStage, str]] = ..., action: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ...) -> None: ...

class GuardrailViolation(_message.Message):
    __slots__ = ["categories", "guardrail", "kind", "policy", "stage"]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[str]
    guardrail: str
    kind: str
    policy: str
    stage: GuardrailStage
    def __init__(self, policy: _Optional[str] = ..., guardrail: _Optional[str] = ..., kind: _Optional[str] = ..., stage: _Optional[_Union[GuardrailStage, str]] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class ListGuardrailPoliciesRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGuardrailPoliciesResponse(_message.Message):
    __slots__ = ["next_page_token", "policies"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    policies: _containers.RepeatedCompositeFieldContainer[GuardrailPolicy]
    def __init__(self, policies: _Optional[_Iterable[_Union[GuardrailPolicy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateGuardrailPolicyRequest(_message.Message):
    __slots__ = ["policy", "update_mask"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateGuardrailPolicyResponse(_message.Message):
    __slots__ = ["policy"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: GuardrailPolicy
    def __init__(self, policy: _Optional[_Union[GuardrailPolicy, _Mapping]] = ...) -> None: ...

class GuardrailAttachKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class GuardrailStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class GuardrailMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class GuardrailOnMatch(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
