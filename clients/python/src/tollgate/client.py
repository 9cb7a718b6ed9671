"""The Tollgate client: authenticated gRPC stubs plus shortcuts."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from ._common import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Messages,
    Retry,
    Time,
    chat_request,
    embed_request,
    key,
    parse_target,
    records_request,
    summary_request,
    team,
)
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

__all__ = ["Client", "DEFAULT_TIMEOUT", "list_all"]

# Kept importable from here for code written against earlier versions.
_parse_target = parse_target


class _Service:
    """Generated stubs whose calls carry the client's credential, default
    deadline and retries, and raise :class:`tollgate.TollgateError`
    subclasses.

    Call methods by their RPC name with a request message, e.g.
    ``client.teams.GetTeam(teams_pb2.GetTeamRequest(id="search"))``;
    ``timeout`` (seconds, per attempt) and ``metadata`` are keyword
    arguments. A _Service over several stubs (``client.admin``) finds the
    method on the stub that has it.
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
                return _stream(lambda: method(request, timeout=timeout, metadata=md), client.retry)
            deadline = timeout if timeout is not None else client.timeout
            attempt = 0
            while True:
                try:
                    return method(request, timeout=deadline, metadata=md)
                except grpc.RpcError as rpc_err:
                    err = from_rpc_error(rpc_err)
                delay = client.retry.delay(attempt, err)
                if delay is None:
                    raise err
                time.sleep(delay)
                attempt += 1

        call.__name__ = name
        return call


def _stream(start: Callable[[], Any], retry: Retry) -> Iterator[Any]:
    """Iterates a server stream, mapping errors and cancelling the call when
    the caller stops early. A stream that fails before its first message
    with a retryable error is started again."""
    attempt = 0
    while True:
        call = start()
        received = False
        try:
            for message in call:
                received = True
                yield message
            return
        except grpc.RpcError as rpc_err:
            err = from_rpc_error(rpc_err)
        finally:
            call.cancel()
        delay = None if received else retry.delay(attempt, err)
        if delay is None:
            raise err
        time.sleep(delay)
        attempt += 1


class Client:
    """A client of a Tollgate gateway over gRPC.

    Args:
        target: the gateway, as "host:port" (plain text), "http://host:port"
            or "https://host:port" (TLS).
        api_key: a virtual key ("tg-...") for inference and usage calls, or
            the admin token for admin and usage calls.
        timeout: default deadline in seconds of each attempt of a unary
            call; None for none. Every call also takes ``timeout=``.
            Streams get no default deadline.
        max_retries: how many times a call that failed with a retryable
            error (unavailable, rate limited) is retried, after the wait
            the gateway asks for or an exponential backoff; 0 disables
            retries. A stream is retried only before its first event.
        retry_backoff: the first backoff in seconds (it doubles up to 8 s).
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
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        root_certificates: Optional[bytes] = None,
        channel: Optional[grpc.Channel] = None,
    ):
        self.api_key = api_key
        self.timeout = timeout
        self.retry = Retry(max_retries=max_retries, initial_backoff=retry_backoff)
        self._owns_channel = channel is None
        if channel is None:
            host, secure = parse_target(target)
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
        return self.inference.Chat(chat_request(model, messages, fields), timeout=timeout)

    def chat_stream(
        self, model: str, messages: Messages, *, timeout: Optional[float] = None, **fields: Any
    ) -> Iterator[inference_pb2.ChatStreamResponse]:
        """Streams a chat completion: yields ChatStreamResponse events as they
        arrive (tollgate.text(event) is each one's new text; the last carries
        usage and cost). Stopping the iteration early cancels the call."""
        req = inference_pb2.ChatStreamRequest(request=chat_request(model, messages, fields))
        return self.inference.ChatStream(req, timeout=timeout)

    def embed(
        self, model: str, inputs: Union[str, Sequence[str]], *, dimensions: Optional[int] = None, timeout: Optional[float] = None
    ) -> inference_pb2.EmbedResponse:
        """Embeds one text or a list of texts."""
        return self.inference.Embed(embed_request(model, inputs, dimensions), timeout=timeout)

    def list_models(self) -> List[inference_pb2.ModelInfo]:
        """Lists the models the key may use."""
        return list_all(self.inference.ListModels, inference_pb2.ListModelsRequest(), "models")

    # Administration (admin token).

    def create_team(self, team_id: str, display_name: str = "", labels: Optional[Dict[str, str]] = None) -> teams_pb2.Team:
        """Creates a team."""
        return self.teams.CreateTeam(teams_pb2.CreateTeamRequest(team=team(team_id, display_name, labels))).team

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
        return self.teams.CreateKey(teams_pb2.CreateKeyRequest(key=key(team_id, name, service_id, allowed_models)))

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
        since: Time = None,
        until: Time = None,
        team_id: str = "",
        key_id: str = "",
        model: str = "",
        page_size: int = 0,
    ) -> List[usage_pb2.RequestRecord]:
        """Lists request records, newest first (one page of page_size; 100 by default)."""
        req = records_request(since, until, team_id, key_id, model, page_size)
        return list(self.usage.ListRequestRecords(req).records)

    def usage_summary(
        self, group_by: Sequence[str] = (), *, since: Time = None, until: Time = None, team_id: str = ""
    ) -> usage_pb2.GetUsageSummaryResponse:
        """Sums usage, grouped by dimensions among team, service, key, model,
        provider and end_user; since and until are times or durations before now."""
        return self.usage.GetUsageSummary(summary_request(group_by, since, until, team_id))


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

