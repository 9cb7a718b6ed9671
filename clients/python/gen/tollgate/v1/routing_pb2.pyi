from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate._googleapis import money_pb2 as _money_pb2
from tollgate.v1 import cache_pb2 as _cache_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_UNSPECIFIED: BreakerState
DESCRIPTOR: _descriptor.FileDescriptor
ROUTE_STRATEGY_COST: RouteStrategy
ROUTE_STRATEGY_FALLBACK: RouteStrategy
ROUTE_STRATEGY_LATENCY: RouteStrategy
ROUTE_STRATEGY_LEAST_BUSY: RouteStrategy
ROUTE_STRATEGY_UNSPECIFIED: RouteStrategy
ROUTE_STRATEGY_WEIGHTED: RouteStrategy

class CircuitBreaker(_message.Message):
    __slots__ = ["cooldown", "failures"]
    COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    cooldown: _duration_pb2.Duration
    failures: int
    def __init__(self, failures: _Optional[int] = ..., cooldown: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateRouteRequest(_message.Message):
    __slots__ = ["route"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class CreateRouteResponse(_message.Message):
    __slots__ = ["route"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class DeleteRouteRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteRouteResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetRouteRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetRouteResponse(_message.Message):
    __slots__ = ["route"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class ListRoutesRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoutesResponse(_message.Message):
    __slots__ = ["next_page_token", "routes"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    routes: _containers.RepeatedCompositeFieldContainer[Route]
    def __init__(self, routes: _Optional[_Iterable[_Union[Route, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ["backoff_base", "backoff_max", "max_attempts"]
    BACKOFF_BASE_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MAX_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    backoff_base: _duration_pb2.Duration
    backoff_max: _duration_pb2.Duration
    max_attempts: int
    def __init__(self, max_attempts: _Optional[int] = ..., backoff_base: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., backoff_max: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ["breaker", "cache", "chunk_timeout", "conditions", "create_time", "drop_params", "etag", "first_chunk_timeout", "name", "retry", "sticky", "strategy", "targets", "timeout", "update_time"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DROP_PARAMS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHUNK_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    STICKY_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    breaker: CircuitBreaker
    cache: _cache_pb2.CachePolicy
    chunk_timeout: _duration_pb2.Duration
    conditions: _containers.RepeatedCompositeFieldContainer[RouteCondition]
    create_time: _timestamp_pb2.Timestamp
    drop_params: bool
    etag: str
    first_chunk_timeout: _duration_pb2.Duration
    name: str
    retry: RetryPolicy
    sticky: bool
    strategy: RouteStrategy
    targets: _containers.RepeatedCompositeFieldContainer[RouteTarget]
    timeout: _duration_pb2.Duration
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., strategy: _Optional[_Union[RouteStrategy, str]] = ..., targets: _Optional[_Iterable[_Union[RouteTarget, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[RouteCondition, _Mapping]]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., breaker: _Optional[_Union[CircuitBreaker, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., first_chunk_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., sticky: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cache: _Optional[_Union[_cache_pb2.CachePolicy, _Mapping]] = ..., chunk_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., drop_params: bool = ..., etag: _Optional[str] = ...) -> None: ...

class RouteCondition(_message.Message):
    __slots__ = ["end_user", "service_id", "tag", "targets", "team_id"]
    END_USER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    end_user: str
    service_id: str
    tag: str
    targets: _containers.RepeatedScalarFieldContainer[int]
    team_id: str
    def __init__(self, team_id: _Optional[str] = ..., service_id: _Optional[str] = ..., tag: _Optional[str] = ..., end_user: _Optional[str] = ..., targets: _Optional[_Iterable[int]] = ...) -> None: ...

class RouteTarget(_message.Message):
    __slots__ = ["context_window", "input_per_million", "model", "output_per_million", "provider_id", "timeout", "weight"]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    INPUT_PER_MILLION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MILLION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    context_window: int
    input_per_million: _money_pb2.Money
    model: str
    output_per_million: _money_pb2.Money
    provider_id: str
    timeout: _duration_pb2.Duration
    weight: int
    def __init__(self, provider_id: _Optional[str] = ..., model: _Optional[str] = ..., weight: _Optional[int] = ..., input_per_million: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., output_per_million: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., context_window: _Optional[int] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TargetHealth(_message.Message):
    __slots__ = ["breaker", "consecutive_failures", "in_flight", "latency_ewma", "model"]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_EWMA_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    breaker: BreakerState
    consecutive_failures: int
    in_flight: int
    latency_ewma: _duration_pb2.Duration
    model: str
    def __init__(self, model: _Optional[str] = ..., breaker: _Optional[_Union[BreakerState, str]] = ..., latency_ewma: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., in_flight: _Optional[int] = ..., consecutive_failures: _Optional[int] = ...) -> None: ...

class UpdateRouteRequest(_message.Message):
    __slots__ = ["route", "update_mask"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    route: Route
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateRouteResponse(_message.Message):
    __slots__ = ["route"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    route: Route
    def __init__(self, route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class RouteStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
