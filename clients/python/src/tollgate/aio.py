"""The asyncio Tollgate client (grpc.aio): the same calls as
:class:`tollgate.Client`, awaited.

    import asyncio, tollgate

    async def main():
        async with tollgate.AsyncClient("localhost:8080", api_key="tg-...") as client:
            print(tollgate.text(await client.chat("gpt-4o-mini", "Say hello")))
            async for event in client.chat_stream("gpt-4o-mini", "Count to five"):
                print(tollgate.text(event), end="")

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

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

__all__ = ["AsyncClient", "list_all_async"]


class _AsyncService:
    """The asyncio counterpart of the synchronous client's stubs: unary
    calls are coroutines, server streams async iterators."""

    def __init__(self, client: "AsyncClient", *stubs: Any):
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

        if isinstance(method, grpc.aio.UnaryStreamMultiCallable):

            def stream(request: Any, *, timeout: Optional[float] = None, metadata: Iterable[Tuple[str, str]] = ()) -> AsyncIterator[Any]:
                md = client._metadata(metadata)
                return _stream(lambda: method(request, timeout=timeout, metadata=md), client.retry)

            stream.__name__ = name
            return stream

        async def call(request: Any, *, timeout: Optional[float] = None, metadata: Iterable[Tuple[str, str]] = ()) -> Any:
            md = client._metadata(metadata)
            deadline = timeout if timeout is not None else client.timeout
            attempt = 0
            while True:
                try:
                    return await method(request, timeout=deadline, metadata=md)
                except grpc.RpcError as rpc_err:
                    err = from_rpc_error(rpc_err)
                delay = client.retry.delay(attempt, err)
                if delay is None:
                    raise err
                await asyncio.sleep(delay)
                attempt += 1

        call.__name__ = name
        return call


async def _stream(start: Callable[[], Any], retry: Retry) -> AsyncIterator[Any]:
    attempt = 0
    while True:
        call = start()
        received = False
        try:
            async for message in call:
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
        await asyncio.sleep(delay)
        attempt += 1


class AsyncClient:
    """A client of a Tollgate gateway over gRPC for asyncio programs.

    It takes the same arguments as :class:`tollgate.Client` and offers the
    same attributes and methods; create it inside the running event loop
    and close it with ``await client.close()`` or ``async with``.
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
        channel: Optional[grpc.aio.Channel] = None,
    ):
        self.api_key = api_key
        self.timeout = timeout
        self.retry = Retry(max_retries=max_retries, initial_backoff=retry_backoff)
        self._owns_channel = channel is None
        if channel is None:
            host, secure = parse_target(target)
            if secure:
                channel = grpc.aio.secure_channel(host, grpc.ssl_channel_credentials(root_certificates=root_certificates))
            else:
                channel = grpc.aio.insecure_channel(host)
        self.channel = channel
        self.inference = _AsyncService(self, inference_pb2_grpc.InferenceServiceStub(channel))
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        teams = teams_pb2_grpc.TeamServiceStub(channel)
        policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.catalog = _AsyncService(self, catalog)
        self.teams = _AsyncService(self, teams)
        self.policy = _AsyncService(self, policy)
        self.admin = _AsyncService(self, catalog, teams, policy)
        self.usage = _AsyncService(self, usage_pb2_grpc.UsageServiceStub(channel))

    def _metadata(self, extra: Iterable[Tuple[str, str]] = ()) -> List[Tuple[str, str]]:
        md = list(extra)
        if self.api_key:
            md.append(("authorization", "Bearer " + self.api_key))
        return md

    async def close(self) -> None:
        """Closes the channel, unless it was passed in."""
        if self._owns_channel:
            await self.channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # Inference.

    async def chat(self, model: str, messages: Messages, *, timeout: Optional[float] = None, **fields: Any) -> inference_pb2.ChatResponse:
        """Runs a chat completion (see :meth:`tollgate.Client.chat`)."""
        return await self.inference.Chat(chat_request(model, messages, fields), timeout=timeout)

    def chat_stream(
        self, model: str, messages: Messages, *, timeout: Optional[float] = None, **fields: Any
    ) -> AsyncIterator[inference_pb2.ChatStreamResponse]:
        """Streams a chat completion: ``async for event in client.chat_stream(...)``."""
        req = inference_pb2.ChatStreamRequest(request=chat_request(model, messages, fields))
        return self.inference.ChatStream(req, timeout=timeout)

    async def embed(
        self, model: str, inputs: Union[str, Sequence[str]], *, dimensions: Optional[int] = None, timeout: Optional[float] = None
    ) -> inference_pb2.EmbedResponse:
        """Embeds one text or a list of texts."""
        return await self.inference.Embed(embed_request(model, inputs, dimensions), timeout=timeout)

    async def list_models(self) -> List[inference_pb2.ModelInfo]:
        """Lists the models the key may use."""
        return await list_all_async(self.inference.ListModels, inference_pb2.ListModelsRequest(), "models")

    # Administration (admin token).

    async def create_team(self, team_id: str, display_name: str = "", labels: Optional[Dict[str, str]] = None) -> teams_pb2.Team:
        """Creates a team."""
        return (await self.teams.CreateTeam(teams_pb2.CreateTeamRequest(team=team(team_id, display_name, labels)))).team

    async def list_teams(self) -> List[teams_pb2.Team]:
        """Lists teams."""
        return await list_all_async(self.teams.ListTeams, teams_pb2.ListTeamsRequest(), "teams")

    async def delete_team(self, team_id: str, *, etag: str = "") -> None:
        """Deletes a team; with an etag, only if the team has not changed since."""
        await self.teams.DeleteTeam(teams_pb2.DeleteTeamRequest(id=team_id, etag=etag))

    async def create_key(
        self, team_id: str, name: str = "", *, service_id: str = "", allowed_models: Sequence[str] = ()
    ) -> teams_pb2.CreateKeyResponse:
        """Issues a virtual key; the response's secret is shown only once."""
        return await self.teams.CreateKey(teams_pb2.CreateKeyRequest(key=key(team_id, name, service_id, allowed_models)))

    async def list_keys(self, team_id: str = "", *, include_revoked: bool = False) -> List[teams_pb2.VirtualKey]:
        """Lists keys, following all pages."""
        req = teams_pb2.ListKeysRequest(team_id=team_id, include_revoked=include_revoked)
        return await list_all_async(self.teams.ListKeys, req, "keys")

    async def revoke_key(self, key_id: str) -> teams_pb2.VirtualKey:
        """Revokes a key."""
        return (await self.teams.RevokeKey(teams_pb2.RevokeKeyRequest(id=key_id))).key

    # Usage (either credential).

    async def list_request_records(
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
        return list((await self.usage.ListRequestRecords(req)).records)

    async def usage_summary(
        self, group_by: Sequence[str] = (), *, since: Time = None, until: Time = None, team_id: str = ""
    ) -> usage_pb2.GetUsageSummaryResponse:
        """Sums usage (see :meth:`tollgate.Client.usage_summary`)."""
        return await self.usage.GetUsageSummary(summary_request(group_by, since, until, team_id))


async def list_all_async(call: Any, request: Any, field: str, *, limit: Optional[int] = None) -> List[Any]:
    """:func:`tollgate.list_all` for the asyncio client's List calls."""
    items: List[Any] = []
    while True:
        resp = await call(request)
        items.extend(getattr(resp, field))
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if not resp.next_page_token:
            return items
        request.page_token = resp.next_page_token
