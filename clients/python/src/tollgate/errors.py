"""Typed errors raised by :class:`tollgate.Client` and :class:`tollgate.AsyncClient`.

Every failed call raises a :class:`TollgateError` subclass chosen by the
gRPC status code, so callers can write ``except tollgate.RateLimitError``
instead of inspecting status codes. ``str(err)`` is the code and the
gateway's message, once: ``unauthenticated: unknown API key``.

The gateway explains its refusals with google.rpc error details; the
error carries what they say: ``reason`` (ErrorInfo, e.g. ``RATE_LIMITED``
or ``BUDGET_EXCEEDED``), ``metadata`` (the ErrorInfo's, e.g. the limit and
when it resets) and ``retry_after`` (RetryInfo, in seconds).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple, Type

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2, message_factory

__all__ = [
    "TollgateError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "AlreadyExistsError",
    "InvalidArgumentError",
    "FailedPreconditionError",
    "RateLimitError",
    "UnavailableError",
    "DeadlineExceededError",
    "CanceledError",
    "UnimplementedError",
    "InternalError",
    "error_class",
    "from_rpc_error",
]


class TollgateError(Exception):
    """Base class of the errors of a Tollgate call.

    Attributes:
        code: the gRPC status code.
        message: the gateway's error message.
        request_id: the gateway's request id, when the gateway sent one.
        reason: the ErrorInfo reason, e.g. "RATE_LIMITED", "BUDGET_EXCEEDED",
            "ETAG_MISMATCH"; "" when the gateway sent none.
        metadata: the ErrorInfo metadata (e.g. "limit", "remaining", "reset").
        retry_after: seconds to wait before retrying (RetryInfo), or None.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        request_id: Optional[str] = None,
        *,
        reason: str = "",
        metadata: Optional[Dict[str, str]] = None,
        retry_after: Optional[float] = None,
    ):
        message = _without_code(code, message)
        super().__init__(f"{_code_name(code)}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
        self.reason = reason
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed when retried: the gateway or
        its providers were unavailable, or a rate limit (not a budget)
        refused it."""
        if self.code == grpc.StatusCode.UNAVAILABLE:
            return True
        if self.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return self.reason != "BUDGET_EXCEEDED" and (self.retry_after is not None or self.reason == "RATE_LIMITED")
        return False


class AuthenticationError(TollgateError):
    """The key or admin token is missing, unknown, revoked or expired (UNAUTHENTICATED)."""


class PermissionDeniedError(TollgateError):
    """The key may not do this, e.g. use that model, or a guardrail blocked the call (PERMISSION_DENIED)."""


class NotFoundError(TollgateError):
    """The model, key, team or provider does not exist (NOT_FOUND)."""


class AlreadyExistsError(TollgateError):
    """An object with that id already exists (ALREADY_EXISTS)."""


class InvalidArgumentError(TollgateError):
    """The request is invalid (INVALID_ARGUMENT, OUT_OF_RANGE)."""


class FailedPreconditionError(TollgateError):
    """The request cannot run in the current state, e.g. a stale etag (FAILED_PRECONDITION, ABORTED)."""


class RateLimitError(TollgateError):
    """A rate limit, budget or upstream quota refused the call (RESOURCE_EXHAUSTED).

    ``reason`` tells a rate limit ("RATE_LIMITED", retryable after
    ``retry_after`` seconds) from an exhausted budget ("BUDGET_EXCEEDED")."""


class UnavailableError(TollgateError):
    """The gateway or the upstream provider is unreachable; retrying may help (UNAVAILABLE)."""


class DeadlineExceededError(TollgateError):
    """The call's deadline passed (DEADLINE_EXCEEDED)."""


class CanceledError(TollgateError):
    """The call was cancelled (CANCELLED)."""


class UnimplementedError(TollgateError):
    """The gateway does not implement the method (UNIMPLEMENTED)."""


class InternalError(TollgateError):
    """The gateway failed (INTERNAL, UNKNOWN, DATA_LOSS)."""


_BY_CODE: Dict[grpc.StatusCode, Type[TollgateError]] = {
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CanceledError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.INTERNAL: InternalError,
    grpc.StatusCode.UNKNOWN: InternalError,
    grpc.StatusCode.DATA_LOSS: InternalError,
}


def error_class(code: grpc.StatusCode) -> Type[TollgateError]:
    """Returns the error class raised for a gRPC status code."""
    return _BY_CODE.get(code, TollgateError)


def from_rpc_error(err: grpc.RpcError) -> TollgateError:
    """Converts a failed gRPC call (sync or asyncio) into the matching :class:`TollgateError`."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    if code is None:
        code = grpc.StatusCode.UNKNOWN
    details = (err.details() if hasattr(err, "details") else None) or str(err)
    trailing = _pairs(err.trailing_metadata() if hasattr(err, "trailing_metadata") else None)
    initial = _pairs(err.initial_metadata() if hasattr(err, "initial_metadata") else None)
    request_id = _first(trailing, "x-request-id") or _first(initial, "x-request-id")
    reason, metadata, retry_after = "", {}, None
    status = _first(trailing, "grpc-status-details-bin")
    if isinstance(status, bytes):
        reason, metadata, retry_after = _status_details(status)
    return error_class(code)(code, details, request_id, reason=reason, metadata=metadata, retry_after=retry_after)


def _code_name(code: grpc.StatusCode) -> str:
    return code.name.lower()


def _without_code(code: grpc.StatusCode, message: str) -> str:
    """Drops a leading "<code>: " from message, so that str(err) names the
    code once even when the message already begins with it."""
    for prefix in (_code_name(code), _code_name(code).replace("_", " ")):
        if message.lower().startswith(prefix + ": "):
            return message[len(prefix) + 2 :]
    return message


def _pairs(md: Any) -> List[Tuple[str, Any]]:
    if not md:
        return []
    return [(str(k).lower(), v) for k, v in md]


def _first(pairs: Iterable[Tuple[str, Any]], key: str) -> Any:
    for k, v in pairs:
        if k == key:
            return v
    return None


# google.rpc.Status, ErrorInfo and RetryInfo, declared here in a private
# descriptor pool so that the client needs no googleapis-common-protos
# (Debian has none) and cannot collide with it when it is installed. The
# gateway sends them in the grpc-status-details-bin trailer.
def _rpc_messages() -> Tuple[Any, Any, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.DescriptorPool()
    for wkt in (any_pb2, duration_pb2):
        pool.AddSerializedFile(wkt.DESCRIPTOR.serialized_pb)
    f = descriptor_pb2.FileDescriptorProto(
        name="tollgate/_rpc_status.proto",
        package="google.rpc",
        syntax="proto3",
        dependency=["google/protobuf/any.proto", "google/protobuf/duration.proto"],
    )
    status = f.message_type.add(name="Status")
    status.field.add(name="code", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    status.field.add(name="details", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED, type_name=".google.protobuf.Any")
    info = f.message_type.add(name="ErrorInfo")
    info.field.add(name="reason", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    info.field.add(name="domain", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    info.field.add(
        name="metadata", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED, type_name=".google.rpc.ErrorInfo.MetadataEntry"
    )
    entry = info.nested_type.add(name="MetadataEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    retry = f.message_type.add(name="RetryInfo")
    retry.field.add(name="retry_delay", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, type_name=".google.protobuf.Duration")
    pool.Add(f)

    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is None:  # protobuf before 4.22
        factory = message_factory.MessageFactory(pool)
        get_class = factory.GetPrototype
    return tuple(get_class(pool.FindMessageTypeByName("google.rpc." + n)) for n in ("Status", "ErrorInfo", "RetryInfo"))  # type: ignore[return-value]


_Status, _ErrorInfo, _RetryInfo = _rpc_messages()


def _status_details(data: bytes) -> Tuple[str, Dict[str, str], Optional[float]]:
    """Returns the ErrorInfo reason and metadata and the RetryInfo delay of
    a serialized google.rpc.Status; unreadable details are ignored."""
    reason, metadata, retry_after = "", {}, None
    try:
        status = _Status.FromString(data)
    except Exception:  # noqa: BLE001 - a malformed trailer must not hide the error itself
        return reason, metadata, retry_after
    for detail in status.details:
        name = detail.type_url.rsplit("/", 1)[-1]
        try:
            if name == "google.rpc.ErrorInfo" and not reason:
                info = _ErrorInfo.FromString(detail.value)
                reason, metadata = info.reason, dict(info.metadata)
            elif name == "google.rpc.RetryInfo":
                delay = _RetryInfo.FromString(detail.value).retry_delay
                retry_after = delay.seconds + delay.nanos / 1e9
        except Exception:  # noqa: BLE001
            continue
    return reason, metadata, retry_after


def _status_bytes(code: int, message: str, *, reason: str = "", metadata: Optional[Dict[str, str]] = None, retry_after: Optional[float] = None) -> bytes:
    """Serializes a google.rpc.Status with the given details (for tests and
    fakes: what the gateway sends in grpc-status-details-bin)."""
    status = _Status(code=code, message=message)
    if reason:
        status.details.add(
            type_url="type.googleapis.com/google.rpc.ErrorInfo",
            value=_ErrorInfo(reason=reason, domain="tollgate.dev", metadata=metadata or {}).SerializeToString(),
        )
    if retry_after is not None:
        info = _RetryInfo()
        nanos = int(round(retry_after * 1e9))
        info.retry_delay.seconds, info.retry_delay.nanos = nanos // 1_000_000_000, nanos % 1_000_000_000
        status.details.add(type_url="type.googleapis.com/google.rpc.RetryInfo", value=info.SerializeToString())
    return status.SerializeToString()
