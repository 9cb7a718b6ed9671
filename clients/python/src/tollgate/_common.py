"""What the synchronous and the asyncio clients share: message helpers,
request builders, the retry policy and target parsing."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from google.protobuf import timestamp_pb2

from .errors import TollgateError
from .v1 import inference_pb2, teams_pb2, usage_pb2

#: Deadline in seconds of unary calls made without an explicit timeout.
DEFAULT_TIMEOUT = 60.0
#: How many times a failed call that may succeed is retried by default.
DEFAULT_MAX_RETRIES = 2

Messages = Union[str, inference_pb2.Message, Sequence[inference_pb2.Message]]
Time = Union[datetime.datetime, datetime.timedelta, None]

DIMENSIONS: Dict[str, int] = {
    "team": usage_pb2.USAGE_DIMENSION_TEAM,
    "service": usage_pb2.USAGE_DIMENSION_SERVICE,
    "key": usage_pb2.USAGE_DIMENSION_KEY,
    "model": usage_pb2.USAGE_DIMENSION_MODEL,
    "provider": usage_pb2.USAGE_DIMENSION_PROVIDER,
    "end_user": usage_pb2.USAGE_DIMENSION_END_USER,
}


def user_message(content: str) -> inference_pb2.Message:
    """Returns a user message holding one text part."""
    return inference_pb2.Message(role=inference_pb2.ROLE_USER, content=[inference_pb2.ContentPart(text=content)])


def text(obj: Any) -> str:
    """Returns the text of a ChatResponse (its first choice), a Message or a ChatStreamResponse event."""
    if isinstance(obj, inference_pb2.ChatResponse):
        return text(obj.choices[0].message) if obj.choices else ""
    if isinstance(obj, inference_pb2.Message):
        return "".join(part.text for part in obj.content if part.WhichOneof("part") == "text")
    if isinstance(obj, inference_pb2.ChatStreamResponse):
        return "".join(delta.text for delta in obj.choices)
    raise TypeError(f"text() does not take {type(obj).__name__}")


@dataclass(frozen=True)
class Retry:
    """When and how long to wait before retrying a failed call.

    A call is retried at most max_retries times, and only when its error
    is retryable (:attr:`TollgateError.retryable`: the gateway or its
    providers were unavailable, or a rate limit refused it). The wait is
    the gateway's RetryInfo hint when it sent one (at most max_retry_after
    seconds), otherwise an exponential backoff from initial_backoff to
    max_backoff seconds with jitter.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, err: TollgateError) -> Optional[float]:
        """Returns the seconds to wait before retrying after the attempt-th
        retry (0 for the first call) failed with err, or None to give up."""
        if attempt >= self.max_retries or not err.retryable:
            return None
        if err.retry_after is not None:
            if err.retry_after > self.max_retry_after:
                return None
            return max(err.retry_after, 0.0)
        backoff = min(self.initial_backoff * (2**attempt), self.max_backoff)
        return backoff / 2 + random.uniform(0, backoff / 2)


def messages_of(messages: Messages) -> List[inference_pb2.Message]:
    if isinstance(messages, str):
        return [user_message(messages)]
    if isinstance(messages, inference_pb2.Message):
        return [messages]
    return list(messages)


def chat_request(model: str, messages: Messages, fields: Dict[str, Any]) -> inference_pb2.ChatRequest:
    return inference_pb2.ChatRequest(model=model, messages=messages_of(messages), **fields)


def embed_request(model: str, inputs: Union[str, Sequence[str]], dimensions: Optional[int]) -> inference_pb2.EmbedRequest:
    if isinstance(inputs, str):
        inputs = [inputs]
    req = inference_pb2.EmbedRequest(model=model, inputs=list(inputs))
    if dimensions is not None:
        req.dimensions = dimensions
    return req


def team(team_id: str, display_name: str, labels: Optional[Dict[str, str]]) -> teams_pb2.Team:
    return teams_pb2.Team(id=team_id, display_name=display_name, labels=labels or {})


def key(team_id: str, name: str, service_id: str, allowed_models: Sequence[str]) -> teams_pb2.VirtualKey:
    return teams_pb2.VirtualKey(team_id=team_id, name=name, service_id=service_id, allowed_models=list(allowed_models))


def records_request(
    since: Time, until: Time, team_id: str, key_id: str, model: str, page_size: int
) -> usage_pb2.ListRequestRecordsRequest:
    return usage_pb2.ListRequestRecordsRequest(
        start_time=timestamp(since), end_time=timestamp(until), team_id=team_id, key_id=key_id, model=model, page_size=page_size
    )


def summary_request(group_by: Sequence[str], since: Time, until: Time, team_id: str) -> usage_pb2.GetUsageSummaryRequest:
    try:
        dims = [DIMENSIONS[d] for d in group_by]
    except KeyError as err:
        raise ValueError(f"unknown usage dimension {err.args[0]!r}; want one of {sorted(DIMENSIONS)}") from None
    return usage_pb2.GetUsageSummaryRequest(group_by=dims, start_time=timestamp(since), end_time=timestamp(until), team_id=team_id)


def timestamp(t: Time) -> Optional[timestamp_pb2.Timestamp]:
    """Converts a time, or a duration before now, to a Timestamp."""
    if t is None:
        return None
    if isinstance(t, datetime.timedelta):
        t = datetime.datetime.now(datetime.timezone.utc) - t
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(t.astimezone(datetime.timezone.utc))
    return ts


def parse_target(target: str) -> Tuple[str, bool]:
    """Splits a target into host:port and whether to use TLS."""
    if "://" not in target:
        return target, False
    u = urlsplit(target)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ValueError(f"target {target!r}: want host:port, http://host:port or https://host:port")
    secure = u.scheme == "https"
    host = u.netloc if u.port else f"{u.netloc}:{443 if secure else 80}"
    return host, secure
