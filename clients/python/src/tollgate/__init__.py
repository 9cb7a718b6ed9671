"""Python client of the Tollgate AI gateway.

    import tollgate

    with tollgate.Client("localhost:8080", api_key="tg-...") as client:
        reply = client.chat("gpt-4o-mini", "Say hello")
        print(tollgate.text(reply))

:class:`AsyncClient` is the same client for asyncio. The generated
protobuf and gRPC modules are importable as ``tollgate.v1.inference_pb2``,
``tollgate.v1.teams_pb2_grpc`` and so on; amounts of money are
:class:`tollgate.Money` (google.type.Money).
"""

from importlib import metadata as _metadata

from ._common import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Retry, text, user_message
from ._googleapis.money_pb2 import Money
from .aio import AsyncClient, list_all_async
from .client import Client, list_all
from .errors import (
    AlreadyExistsError,
    AuthenticationError,
    CanceledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TollgateError,
    UnavailableError,
    UnimplementedError,
    from_rpc_error,
)

try:
    __version__ = _metadata.version("tollgate")
except _metadata.PackageNotFoundError:  # not installed (a source tree)
    __version__ = "0.0.0"

__all__ = [
    "Client",
    "AsyncClient",
    "Money",
    "Retry",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "list_all",
    "list_all_async",
    "text",
    "user_message",
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
    "__version__",
]
