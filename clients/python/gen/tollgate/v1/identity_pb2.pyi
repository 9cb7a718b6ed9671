from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
PRINCIPAL_TYPE_ADMIN_TOKEN: PrincipalType
PRINCIPAL_TYPE_SERVICE_ACCOUNT: PrincipalType
PRINCIPAL_TYPE_SYSTEM: PrincipalType
PRINCIPAL_TYPE_UNSPECIFIED: PrincipalType
PRINCIPAL_TYPE_USER: PrincipalType
PRINCIPAL_TYPE_VIRTUAL_KEY: PrincipalType
ROLE_BINDING_SUBJECT_KIND_EMAIL: RoleBindingSubjectKind
ROLE_BINDING_SUBJECT_KIND_GROUP: RoleBindingSubjectKind
ROLE_BINDING_SUBJECT_KIND_UNSPECIFIED: RoleBindingSubjectKind
ROLE_BINDING_SUBJECT_KIND_USER: RoleBindingSubjectKind

class CreateRoleBindingRequest(_message.Message):
    __slots__ = ["role_binding"]
    ROLE_BINDING_FIELD_NUMBER: _ClassVar[int]
    role_binding: RoleBinding
    def __init__(self, role_binding: _Optional[_Union[RoleBinding, _Mapping]] = ...) -> None: ...

class CreateRoleBindingResponse(_message.Message):
    __slots__ = ["role_binding"]
    ROLE_BINDING_FIELD_NUMBER: _ClassVar[int]
    role_binding: RoleBinding
    def __init__(self, role_binding: _Optional[_Union[RoleBinding, _Mapping]] = ...) -> None: ...

class CreateServiceAccountRequest(_message.Message):
    __slots__ = ["service_account"]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    service_account: ServiceAccount
    def __init__(self, service_account: _Optional[_Union[ServiceAccount, _Mapping]] = ...) -> None: ...

class CreateServiceAccountResponse(_message.Message):
    __slots__ = ["service_account"]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    service_account: ServiceAccount
    def __init__(self, service_account: _Optional[_Union[ServiceAccount, _Mapping]] = ...) -> None: ...

class CreateServiceAccountTokenRequest(_message.Message):
    __slots__ = ["name", "service_account_id", "ttl"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    name: str
    service_account_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, service_account_id: _Optional[str] = ..., name: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateServiceAccountTokenResponse(_message.Message):
    __slots__ = ["secret", "token"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    secret: str
    token: ServiceAccountToken
    def __init__(self, token: _Optional[_Union[ServiceAccountToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class DeleteRoleBindingRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteRoleBindingResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DeleteServiceAccountRequest(_message.Message):
    __slots__ = ["etag", "id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    id: str
    def __init__(self, id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteServiceAccountResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetCallerRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetCallerResponse(_message.Message):
    __slots__ = ["principal"]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: Principal
    def __init__(self, principal: _Optional[_Union[Principal, _Mapping]] = ...) -> None: ...

class GetLoginConfigRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetLoginConfigResponse(_message.Message):
    __slots__ = ["cli_client_id", "issuer", "scopes"]
    CLI_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    cli_client_id: str
    issuer: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, issuer: _Optional[str] = ..., cli_client_id: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetServiceAccountRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetServiceAccountResponse(_message.Message):
    __slots__ = ["service_account"]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    service_account: ServiceAccount
    def __init__(self, service_account: _Optional[_Union[ServiceAccount, _Mapping]] = ...) -> None: ...

class ListRoleBindingsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoleBindingsResponse(_message.Message):
    __slots__ = ["next_page_token", "role_bindings"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROLE_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    role_bindings: _containers.RepeatedCompositeFieldContainer[RoleBinding]
    def __init__(self, role_bindings: _Optional[_Iterable[_Union[RoleBinding, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListServiceAccountTokensRequest(_message.Message):
    __slots__ = ["include_inactive", "service_account_id"]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    include_inactive: bool
    service_account_id: str
    def __init__(self, service_account_id: _Optional[str] = ..., include_inactive: bool = ...) -> None: ...

class ListServiceAccountTokensResponse(_message.Message):
    __slots__ = ["tokens"]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[ServiceAccountToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[ServiceAccountToken, _Mapping]]] = ...) -> None: ...

class ListServiceAccountsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListServiceAccountsResponse(_message.Message):
    __slots__ = ["next_page_token", "service_accounts"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    service_accounts: _containers.RepeatedCompositeFieldContainer[ServiceAccount]
    def __init__(self, service_accounts: _Optional[_Iterable[_Union[ServiceAccount, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ["email", "groups", "id", "issuer", "name", "roles", "subject", "token_id", "type"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    email: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    id: str
    issuer: str
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    subject: str
    token_id: str
    type: PrincipalType
    def __init__(self, type: _Optional[_Union[PrincipalType, str]] = ..., subject: _Optional[str] = ..., issuer: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., token_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., groups: _Optional[_Iterable[str]] = ..., id: _Optional[str] = ...) -> None: ...

class RevokeServiceAccountTokenRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeServiceAccountTokenResponse(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: ServiceAccountToken
    def __init__(self, token: _Optional[_Union[ServiceAccountToken, _Mapping]] = ...) -> None: ...

class RoleBinding(_message.Message):
    __slots__ = ["create_time", "created_by", "id", "role", "subject", "subject_kind"]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    created_by: str
    id: str
    role: str
    subject: str
    subject_kind: RoleBindingSubjectKind
    def __init__(self, id: _Optional[str] = ..., subject_kind: _Optional[_Union[RoleBindingSubjectKind, str]] = ..., subject: _Optional[str] = ..., role: _Optional[str] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RotateServiceAccountTokenRequest(_message.Message):
    __slots__ = ["grace", "id", "ttl"]
    GRACE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    grace: _duration_pb2.Duration
    id: str
    ttl: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., grace: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RotateServiceAccountTokenResponse(_message.Message):
    __slots__ = ["secret", "token"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    secret: str
    token: ServiceAccountToken
    def __init__(self, token: _Optional[_Union[ServiceAccountToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ServiceAccount(_message.Message):
    __slots__ = ["create_time", "created_by", "description", "disabled", "etag", "id", "owner", "roles", "update_time"]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    created_by: str
    description: str
    disabled: bool
    etag: str
    id: str
    owner: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., owner: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., disabled: bool = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ServiceAccountToken(_message.Message):
    __slots__ = ["create_time", "created_by", "expire_time", "id", "last_use_time", "name", "revoke_time", "rotated_from", "secret_prefix", "service_account_id"]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_USE_TIME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    ROTATED_FROM_FIELD_NUMBER: _ClassVar[int]
    SECRET_PREFIX_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    created_by: str
    expire_time: _timestamp_pb2.Timestamp
    id: str
    last_use_time: _timestamp_pb2.Timestamp
    name: str
    revoke_time: _timestamp_pb2.Timestamp
    rotated_from: str
    secret_prefix: str
    service_account_id: str
    def __init__(self, id: _Optional[str] = ..., service_account_id: _Optional[str] = ..., name: _Optional[str] = ..., secret_prefix: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_use_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., rotated_from: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class UpdateServiceAccountRequest(_message.Message):
    __slots__ = ["service_account", "update_mask"]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    service_account: ServiceAccount
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, service_account: _Optional[_Union[ServiceAccount, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateServiceAccountResponse(_message.Message):
    __slots__ = ["service_account"]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    service_account: ServiceAccount
    def __init__(self, service_account: _Optional[_Union[ServiceAccount, _Mapping]] = ...) -> None: ...

class PrincipalType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RoleBindingSubjectKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
