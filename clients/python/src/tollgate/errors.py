"""Typed errors raised by :class:`tollgate.Client`.

Every failed call raises a :class:`TollgateError` subclass chosen by the
gRPC status code, so callers can write ``except tollgate.RateLimitError``
instead of inspecting status codes.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

import grpc

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
    "from_rpc_error",
]


class TollgateError(Exception):
    """Base class of the errors of a Tollgate call.

    Attributes:
        code: the gRPC status code.
        message: the gateway's error message.
        request_id: the gateway's request id, when the gateway sent one.
    """

    def __init__(self, code: grpc.StatusCode, message: str, request_id: Optional[str] = None):
        super().__init__(f"{code.name.lower()}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class AuthenticationError(TollgateError):
    """The key or admin token is missing, unknown, revoked or expired (UNAUTHENTICATED)."""


class PermissionDeniedError(TollgateError):
    """The key may not do this, e.g. use that model (PERMISSION_DENIED)."""


class NotFoundError(TollgateError):
    """The model, key, team or provider does not exist (NOT_FOUND)."""


class AlreadyExistsError(TollgateError):
    """An object with that id already exists (ALREADY_EXISTS)."""


class InvalidArgumentError(TollgateError):
    """The request is invalid (INVALID_ARGUMENT, OUT_OF_RANGE)."""


class FailedPreconditionError(TollgateError):
    """The request cannot run in the current state (FAILED_PRECONDITION, ABORTED)."""


class RateLimitError(TollgateError):
    """A rate limit, budget or upstream quota refused the call (RESOURCE_EXHAUSTED)."""


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
    """Converts a failed gRPC call into the matching :class:`TollgateError`."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = (err.details() if hasattr(err, "details") else None) or str(err)
    request_id = None
    if hasattr(err, "trailing_metadata"):
        for key, value in err.trailing_metadata() or ():
            if key == "x-request-id":
                request_id = value
    if request_id is None and hasattr(err, "initial_metadata"):
        for key, value in err.initial_metadata() or ():
            if key == "x-request-id":
                request_id = value
    return error_class(code)(code, details, request_id)
