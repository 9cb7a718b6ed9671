"""The Tollgate client: authenticated gRPC stubs plus shortcuts."""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

import grpc
from google.protobuf import timestamp_pb2

from .errors import from_rpc_error
from .v1 import (
    catalog_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
    policy_pb2_grpc,
    teams_pb2,
    teams_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
)

__all__ = ["Client", "list_all", "text", "user_message"]

#: Deadline in seconds of unary calls made without an explicit timeout.
DEFAULT_TIMEOUT = 60.0

Messages = Union[str, inference_pb2.Message, Sequence[inference_pb2.Message]]

_DIMENSIONS = {
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


def _messages(messages: Messages) -> List[inference_pb2.Message]:
    if isinstance(messages, str):
        return [user_message(messages)]
    if isinstance(messages, inference_pb2.Message):
        return [messages]
    return list(messages)


def _timestamp(t: Union[datetime.datetime, datetime.timedelta, None]) -> Optional[timestamp_pb2.Timestamp]:
    """Converts a time, or a duration before now, to a Timestamp."""
    if t is None:
        return None
    if isinstance(t, datetime.timedelta):
        t = datetime.datetime.now(datetime.timezone.utc) - t
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(t.astimezone(datetime.timezone.utc))
    return ts


class _Service:
    """Generated stubs whose calls carry the client's credential and default
    deadline and raise :class:`tollgate.TollgateError` subclasses.

    Call methods by their RPC name with a request message, e.g.
    ``client.teams.GetTeam(teams_pb2.GetTeamRequest(id="search"))``;
    keyword arguments (``timeout``, ``metadata``) go to gRPC. A _Service
    over several stubs (``client.admin``) finds the method on the stub
    that has it.
    """

    def __init__(self, client: "Client", *stubs: Any):
        self._stubs = stubs
        self._client = client

    def __getattr__(self, name: str) -> Any:
        for stub in self._stubs:
            method = getattr(stub, name, None)
            if method is not None:
                break
        else:
            raise AttributeError(f"no RPC named {name!r}")
        client = self._client
        streaming = isinstance(method, grpc.UnaryStreamMultiCallable)

        def call(request: Any, *, timeout: Optional[float] = None, metadata: Iterable[Tuple[str, str]] = ()) -> Any:
            md = client._metadata(metadata)
            if streaming:
                return _stream(method(request, timeout=timeout, metadata=md))
            try:
                return method(request, timeout=timeout if timeout is not None else client.timeout, metadata=md)
            except grpc.RpcError as err:
                raise from_rpc_error(err) from None

        call.__name__ = name
        return call


def _stream(call: Any) -> Iterator[Any]:
    """Iterates a server stream, mapping errors and cancelling the call when
    the caller stops early."""
    try:
        for message in call:
            yield message
    except grpc.RpcError as err:
        raise from_rpc_error(err) from None
    finally:
        call.cancel()


class Client:
    """A client of a Tollgate gateway over gRPC.

    Args:
        target: the gateway, as "host:port" (plain text), "http://host:port"
            or "https://host:port" (TLS).
        api_key: a virtual key ("tg-...") for inference and usage calls, or
            the admin token for admin and usage calls.
        timeout: default deadline in seconds of unary calls; None for none.
            Streams get no default deadline.
        root_certificates: PEM roots to trust for TLS instead of the system's.
        channel: use this channel instead of creating one (target is then
            ignored, and close() leaves it open).

    The generated stubs are the attributes ``inference``, ``catalog``
    (providers, models, routes), ``teams`` (teams, keys), ``policy``
    (budgets, rate limits, guardrails, alerts, cache) and ``usage``;
    ``admin`` reaches the catalog, teams and policy services' methods at
    once. The methods are shortcuts for common calls; list shortcuts follow
    every page.
    """

    def __init__(
        self,
        target: str,
        api_key: str = "",
        *,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        root_certificates: Optional[bytes] = None,
        channel: Optional[grpc.Channel] = None,
    ):
        self.api_key = api_key
        self.timeout = timeout
        self._owns_channel = channel is None
        if channel is None:
            host, secure = _parse_target(target)
            if secure:
                channel = grpc.secure_channel(host, grpc.ssl_channel_credentials(root_certificates=root_certificates))
            else:
                channel = grpc.insecure_channel(host)
        self.channel = channel
        self.inference = _Service(self, inference_pb2_grpc.InferenceServiceStub(channel))
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        teams = teams_pb2_grpc.TeamServiceStub(channel)
        policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.catalog = _Service(self, catalog)
        self.teams = _Service(self, teams)
        self.policy = _Service(self, policy)
        self.admin = _Service(self, catalog, teams, policy)
        self.usage = _Service(self, usage_pb2_grpc.UsageServiceStub(channel))

    def _metadata(self, extra: Iterable[Tuple[str, str]] = ()) -> List[Tuple[str, str]]:
        md = list(extra)
        if self.api_key:
            md.append(("authorization", "Bearer " + self.api_key))
        return md

    def close(self) -> None:
        """Closes the channel, unless it was passed in."""
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # Inference.

    def chat(self, model: str, messages: Messages, *, timeout: Optional[float] = None, **fields: Any) -> inference_pb2.ChatResponse:
        """Runs a chat completion. messages is a text (one user message), a
        Message or a list of them; other ChatRequest fields (temperature,
        max_tokens, tools, ...) go in fields. Returns the ChatResponse;
        tollgate.text(response) is the answer's text."""
        req = inference_pb2.ChatRequest(model=model, messages=_messages(messages), **fields)
        return self.inference.Chat(req, timeout=timeout)

    def chat_stream(
        self, model: str, messages: Messages, *, timeout: Optional[float] = None, **fields: Any
    ) -> Iterator[inference_pb2.ChatStreamResponse]:
        """Streams a chat completion: yields ChatStreamResponse events as they
        arrive (tollgate.text(event) is each one's new text; the last carries
        usage and cost). Stopping the iteration early cancels the call."""
        req = inference_pb2.ChatStreamRequest(
            request=inference_pb2.ChatRequest(model=model, messages=_messages(messages), **fields)
        )
        return self.inference.ChatStream(req, timeout=timeout)

    def embed(self, model: str, inputs: Union[str, Sequence[str]], *, dimensions: Optional[int] = None) -> inference_pb2.EmbedResponse:
        """Embeds one text or a list of texts."""
        if isinstance(inputs, str):
            inputs = [inputs]
        req = inference_pb2.EmbedRequest(model=model, inputs=list(inputs))
        if dimensions is not None:
            req.dimensions = dimensions
        return self.inference.Embed(req)

    def list_models(self) -> List[inference_pb2.ModelInfo]:
        """Lists the models the key may use."""
        return list_all(self.inference.ListModels, inference_pb2.ListModelsRequest(), "models")

    # Administration (admin token).

    def create_team(self, team_id: str, display_name: str = "", labels: Optional[dict] = None) -> teams_pb2.Team:
        """Creates a team."""
        team = teams_pb2.Team(id=team_id, display_name=display_name, labels=labels or {})
        return self.teams.CreateTeam(teams_pb2.CreateTeamRequest(team=team)).team

    def list_teams(self) -> List[teams_pb2.Team]:
        """Lists teams."""
        return list_all(self.teams.ListTeams, teams_pb2.ListTeamsRequest(), "teams")

    def delete_team(self, team_id: str, *, etag: str = "") -> None:
        """Deletes a team; with an etag, only if the team has not changed since."""
        self.teams.DeleteTeam(teams_pb2.DeleteTeamRequest(id=team_id, etag=etag))

    def create_key(
        self, team_id: str, name: str = "", *, service_id: str = "", allowed_models: Sequence[str] = ()
    ) -> teams_pb2.CreateKeyResponse:
        """Issues a virtual key; the response's secret is shown only once."""
        key = teams_pb2.VirtualKey(team_id=team_id, name=name, service_id=service_id, allowed_models=list(allowed_models))
        return self.teams.CreateKey(teams_pb2.CreateKeyRequest(key=key))

    def list_keys(self, team_id: str = "", *, include_revoked: bool = False) -> List[teams_pb2.VirtualKey]:
        """Lists keys, following all pages."""
        req = teams_pb2.ListKeysRequest(team_id=team_id, include_revoked=include_revoked)
        return list_all(self.teams.ListKeys, req, "keys")

    def revoke_key(self, key_id: str) -> teams_pb2.VirtualKey:
        """Revokes a key."""
        return self.teams.RevokeKey(teams_pb2.RevokeKeyRequest(id=key_id)).key

    # Usage (either credential).

    def list_request_records(
        self,
        *,
        since: Union[datetime.datetime, datetime.timedelta, None] = None,
        until: Union[datetime.datetime, datetime.timedelta, None] = None,
        team_id: str = "",
        key_id: str = "",
        model: str = "",
        page_size: int = 0,
    ) -> List[usage_pb2.RequestRecord]:
        """Lists request records, newest first (one page of page_size; 100 by default)."""
        req = usage_pb2.ListRequestRecordsRequest(
            start_time=_timestamp(since), end_time=_timestamp(until), team_id=team_id, key_id=key_id, model=model, page_size=page_size
        )
        return list(self.usage.ListRequestRecords(req).records)

    def usage_summary(
        self,
        group_by: Sequence[str] = (),
        *,
        since: Union[datetime.datetime, datetime.timedelta, None] = None,
        until: Union[datetime.datetime, datetime.timedelta, None] = None,
        team_id: str = "",
    ) -> usage_pb2.GetUsageSummaryResponse:
        """Sums usage, grouped by dimensions among team, service, key, model,
        provider and end_user; since and until are times or durations before now."""
        try:
            dims = [_DIMENSIONS[d] for d in group_by]
        except KeyError as err:
            raise ValueError(f"unknown usage dimension {err.args[0]!r}; want one of {sorted(_DIMENSIONS)}") from None
        req = usage_pb2.GetUsageSummaryRequest(
            group_by=dims, start_time=_timestamp(since), end_time=_timestamp(until), team_id=team_id
        )
        return self.usage.GetUsageSummary(req)


def list_all(call: Any, request: Any, field: str, *, limit: Optional[int] = None) -> List[Any]:
    """Calls a List RPC page after page and returns the items of the
    response's repeated field (e.g. "teams"), at most limit of them.

    ``list_all(client.teams.ListTeams, teams_pb2.ListTeamsRequest(), "teams")``
    """
    items: List[Any] = []
    while True:
        resp = call(request)
        items.extend(getattr(resp, field))
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if not resp.next_page_token:
            return items
        request.page_token = resp.next_page_token


def _parse_target(target: str) -> Tuple[str, bool]:
    """Splits a target into host:port and whether to use TLS."""
    if "://" not in target:
        return target, False
    u = urlsplit(target)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ValueError(f"target {target!r}: want host:port, http://host:port or https://host:port")
    secure = u.scheme == "https"
    host = u.netloc if u.port else f"{u.netloc}:{443 if secure else 80}"
    return host, secure
