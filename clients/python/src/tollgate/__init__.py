"""Python client of the Tollgate AI gateway.

    import tollgate

    with tollgate.Client("localhost:8080", api_key="tg-...") as client:
        reply = client.chat("gpt-4o-mini", "Say hello")
        print(tollgate.text(reply))

The generated protobuf and gRPC modules are importable as
``tollgate.v1.inference_pb2``, ``tollgate.v1.teams_pb2_grpc`` and so on.
"""

import os as _os
import sys as _sys

# In a source checkout the generated stubs live beside src/, in
# clients/python/gen (buf's output directory, which buf cleans): gen/tollgate
# joins this package, and gen/google/type (google.type.Money, which an
# installed distribution takes from googleapis-common-protos) joins the
# google namespace. An installed distribution has the stubs inside this
# package already.
_gen = _os.path.normpath(_os.path.join(_os.path.dirname(__file__), _os.pardir, _os.pardir, "gen"))
if _os.path.isdir(_os.path.join(_gen, "tollgate")) and _os.path.join(_gen, "tollgate") not in __path__:
    __path__.append(_os.path.join(_gen, "tollgate"))
    if _gen not in _sys.path:
        _sys.path.append(_gen)
del _gen

from .errors import (  # noqa: E402
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
from .client import Client, list_all, text, user_message  # noqa: E402

__all__ = [
    "Client",
    "list_all",
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
]
