"""End-to-end tests against a live gateway.

The Go driver (test/clients) builds the wheel, installs it into a fresh
virtual environment, starts a gateway with a fake upstream and runs them
with that environment's Python and TOLLGATE_ADDR, TOLLGATE_KEY (a virtual
key of team TOLLGATE_TEAM), TOLLGATE_ADMIN_TOKEN, TOLLGATE_CHAT_MODEL and
TOLLGATE_PY_VERSION (the wheel's version) set.
"""

import asyncio
import datetime
import os
import time
import unittest

import tollgate
from tollgate.v1 import governance_pb2, usage_pb2

ADDR = os.environ.get("TOLLGATE_ADDR", "")
KEY = os.environ.get("TOLLGATE_KEY", "")
ADMIN_TOKEN = os.environ.get("TOLLGATE_ADMIN_TOKEN", "")
TEAM = os.environ.get("TOLLGATE_TEAM", "team-a")
CHAT_MODEL = os.environ.get("TOLLGATE_CHAT_MODEL", "gpt-4o-mini")
EMBED_MODEL = os.environ.get("TOLLGATE_EMBED_MODEL", "text-embedding-3-small")


@unittest.skipUnless(ADDR and KEY and ADMIN_TOKEN, "needs TOLLGATE_ADDR, TOLLGATE_KEY and TOLLGATE_ADMIN_TOKEN")
class GatewayTest(unittest.TestCase):
    def setUp(self):
        self.client = tollgate.Client(ADDR, KEY, timeout=30)
        self.admin = tollgate.Client(ADDR, ADMIN_TOKEN, timeout=30)

    def tearDown(self):
        self.client.close()
        self.admin.close()

    def test_chat(self):
        resp = self.client.chat(CHAT_MODEL, "hello from python", temperature=0.2)
        self.assertEqual(tollgate.text(resp), "echo: hello from python")
        self.assertTrue(resp.id.startswith("req_"), resp.id)
        self.assertGreater(resp.usage.output_tokens, 0)
        self.assertEqual(resp.requested_model, CHAT_MODEL)

    def test_chat_stream(self):
        events = list(self.client.chat_stream(CHAT_MODEL, "stream from python"))
        self.assertGreaterEqual(len(events), 2)
        self.assertEqual("".join(tollgate.text(e) for e in events), "echo: stream from python")
        self.assertGreater(events[-1].usage.output_tokens, 0)
        self.assertTrue(events[-1].HasField("cost"))

    def test_chat_stream_stopped_early(self):
        stream = self.client.chat_stream(CHAT_MODEL, "one two three four five six")
        first = next(stream)
        self.assertTrue(first.id.startswith("req_"))
        stream.close()  # cancels the call; the client stays usable
        self.assertEqual(tollgate.text(self.client.chat(CHAT_MODEL, "after")), "echo: after")

    def test_embed_and_models(self):
        resp = self.client.embed(EMBED_MODEL, ["a", "b"])
        self.assertEqual([e.index for e in resp.embeddings], [0, 1])
        self.assertTrue(all(len(e.values) > 0 for e in resp.embeddings))
        names = [m.name for m in self.client.list_models()]
        self.assertIn(CHAT_MODEL, names)

    def test_admin(self):
        team = self.admin.create_team("py-team", "Python Team")
        self.assertEqual(team.id, "py-team")
        self.assertIn("py-team", [t.id for t in self.admin.list_teams()])
        created = self.admin.create_key("py-team", "python key")
        self.assertTrue(created.secret.startswith("tg-"))
        self.assertEqual([k.id for k in self.admin.list_keys("py-team")], [created.key.id])
        with tollgate.Client(ADDR, created.secret) as fresh:
            self.assertEqual(tollgate.text(fresh.chat(CHAT_MODEL, "new key")), "echo: new key")
        revoked = self.admin.revoke_key(created.key.id)
        self.assertEqual(revoked.state, 2)  # KEY_STATE_REVOKED
        with tollgate.Client(ADDR, created.secret) as fresh:
            with self.assertRaises(tollgate.AuthenticationError):
                fresh.chat(CHAT_MODEL, "revoked")
        with self.assertRaises(tollgate.AlreadyExistsError):
            self.admin.create_team("py-team")
        with self.assertRaises(tollgate.NotFoundError):
            self.admin.revoke_key("key_doesnotexist")

    def test_usage(self):
        self.client.chat(CHAT_MODEL, "count me")
        deadline = time.monotonic() + 15
        while True:
            records = self.admin.list_request_records(since=datetime.timedelta(hours=1), team_id=TEAM)
            if any(r.operation == "chat" and r.status == usage_pb2.REQUEST_STATUS_OK for r in records):
                break
            if time.monotonic() > deadline:
                self.fail(f"no chat record after 15s: {records}")
            time.sleep(0.1)
        summary = self.admin.usage_summary(["team", "model"], since=datetime.timedelta(days=1))
        self.assertGreater(summary.total.requests, 0)
        self.assertIn([TEAM, CHAT_MODEL], [list(g.keys) for g in summary.groups])
        # A virtual key reads its own team's usage.
        own = self.client.usage_summary(since=datetime.timedelta(days=1))
        self.assertGreater(own.total.requests, 0)

    def test_installed_from_the_wheel(self):
        want = os.environ.get("TOLLGATE_PY_VERSION")
        if want:
            self.assertEqual(tollgate.__version__, want)
        self.assertIn("site-packages", tollgate.__file__)

    def test_authentication_errors(self):
        with tollgate.Client(ADDR, "tg-not-a-real-key") as bad:
            with self.assertRaises(tollgate.AuthenticationError) as ctx:
                bad.chat(CHAT_MODEL, "hi")
            self.assertIsInstance(ctx.exception, tollgate.TollgateError)
            # One clean message, the code named once.
            self.assertEqual(str(ctx.exception), "unauthenticated: unknown API key")
            self.assertEqual(ctx.exception.message, "unknown API key")
            self.assertFalse(ctx.exception.retryable)
            with self.assertRaises(tollgate.AuthenticationError):
                list(bad.chat_stream(CHAT_MODEL, "hi"))
        # A virtual key is not an admin token.
        with self.assertRaises(tollgate.AuthenticationError):
            self.client.list_teams()

    def _limited_key(self, name):
        created = self.admin.create_key(TEAM, name)
        return created.key.id, created.secret

    def _refusal(self, secret):
        """Chats with secret until the gateway refuses (limits reach the
        request path within a second) and returns the error."""
        deadline = time.monotonic() + 15
        with tollgate.Client(ADDR, secret, max_retries=0) as client:
            while True:
                try:
                    client.chat(CHAT_MODEL, "again", max_tokens=16)
                except tollgate.RateLimitError as err:
                    return err
                if time.monotonic() > deadline:
                    self.fail("no refusal after 15s")
                time.sleep(0.05)

    def test_rate_limit_details(self):
        key_id, secret = self._limited_key("rpm limited")
        limit = governance_pb2.RateLimit(
            id="py-suite-rpm", scope=governance_pb2.GOVERNANCE_SCOPE_KEY, key_id=key_id, requests_per_minute=1
        )
        self.admin.policy.SetRateLimit(governance_pb2.SetRateLimitRequest(rate_limit=limit))
        err = self._refusal(secret)
        self.assertEqual(err.code.name, "RESOURCE_EXHAUSTED")
        self.assertEqual(err.reason, "RATE_LIMITED")
        self.assertEqual(err.metadata.get("limit"), "1")
        self.assertIsNotNone(err.retry_after)
        self.assertGreater(err.retry_after, 0)
        self.assertTrue(err.retryable)
        self.assertTrue(str(err).startswith("resource_exhausted: "), str(err))

    def test_budget_details(self):
        key_id, secret = self._limited_key("budget limited")
        budget = governance_pb2.Budget(
            id="py-suite-budget",
            scope=governance_pb2.GOVERNANCE_SCOPE_KEY,
            key_id=key_id,
            period=governance_pb2.BUDGET_PERIOD_LIFETIME,
            limit_tokens=1,
        )
        self.admin.policy.SetBudget(governance_pb2.SetBudgetRequest(budget=budget))
        err = self._refusal(secret)
        self.assertEqual(err.reason, "BUDGET_EXCEEDED")
        self.assertFalse(err.retryable)
        self.assertIsNone(tollgate.Retry().delay(0, err))

    def test_async_client(self):
        async def run():
            async with tollgate.AsyncClient(ADDR, KEY, timeout=30) as client:
                reply = await client.chat(CHAT_MODEL, "hello from asyncio")
                self.assertEqual(tollgate.text(reply), "echo: hello from asyncio")
                text = "".join([tollgate.text(e) async for e in client.chat_stream(CHAT_MODEL, "async stream")])
                self.assertEqual(text, "echo: async stream")
                self.assertIn(CHAT_MODEL, [m.name for m in await client.list_models()])
            async with tollgate.AsyncClient(ADDR, ADMIN_TOKEN) as admin:
                self.assertIn(TEAM, [t.id for t in await admin.list_teams()])
            async with tollgate.AsyncClient(ADDR, "tg-not-a-real-key") as bad:
                with self.assertRaises(tollgate.AuthenticationError) as ctx:
                    await bad.chat(CHAT_MODEL, "hi")
                self.assertEqual(str(ctx.exception), "unauthenticated: unknown API key")
                with self.assertRaises(tollgate.AuthenticationError):
                    async for _ in bad.chat_stream(CHAT_MODEL, "hi"):
                        pass

        asyncio.run(run())

    def test_not_found(self):
        with self.assertRaises(tollgate.NotFoundError):
            self.client.chat("no-such-model", "hi")

    def test_generated_stubs_carry_auth(self):
        from tollgate.v1 import catalog_pb2, teams_pb2

        team = self.admin.teams.GetTeam(teams_pb2.GetTeamRequest(id=TEAM)).team
        self.assertEqual(team.id, TEAM)
        # client.admin reaches every admin service's methods.
        self.assertEqual(self.admin.admin.GetTeam(teams_pb2.GetTeamRequest(id=TEAM)).team.id, TEAM)
        providers = self.admin.admin.ListProviders(catalog_pb2.ListProvidersRequest()).providers
        self.assertGreater(len(providers), 0)

    def test_pages_and_etags(self):
        from tollgate.v1 import catalog_pb2, teams_pb2

        for i in range(3):
            self.admin.create_team(f"py-page-{i}")
        # Page through the teams one at a time.
        req = teams_pb2.ListTeamsRequest(page_size=1)
        first = self.admin.teams.ListTeams(req)
        self.assertEqual(len(first.teams), 1)
        self.assertTrue(first.next_page_token)
        ids = [t.id for t in tollgate.list_all(self.admin.teams.ListTeams, teams_pb2.ListTeamsRequest(page_size=1), "teams")]
        self.assertEqual(ids, sorted(ids))
        self.assertTrue({"py-page-0", "py-page-1", "py-page-2"} <= set(ids))
        # A made-up token is refused.
        with self.assertRaises(tollgate.InvalidArgumentError):
            self.admin.teams.ListTeams(teams_pb2.ListTeamsRequest(page_token="garbage"))
        # A token of another listing is refused too.
        with self.assertRaises(tollgate.InvalidArgumentError):
            self.admin.catalog.ListProviders(catalog_pb2.ListProvidersRequest(page_token=first.next_page_token))
        # Etags: a delete with a stale etag is refused, the current one works.
        team = self.admin.teams.GetTeam(teams_pb2.GetTeamRequest(id="py-page-0")).team
        self.assertTrue(team.etag)
        model = self.admin.catalog.GetModel(catalog_pb2.GetModelRequest(name=CHAT_MODEL)).model
        updated = self.admin.catalog.UpdateModel(
            catalog_pb2.UpdateModelRequest(
                model=catalog_pb2.Model(name=CHAT_MODEL, context_window=64000, etag=model.etag),
                update_mask={"paths": ["context_window"]},
            )
        ).model
        self.assertEqual(updated.context_window, 64000)
        self.assertEqual(updated.provider_id, model.provider_id)
        self.assertNotEqual(updated.etag, model.etag)
        with self.assertRaises(tollgate.FailedPreconditionError):
            self.admin.catalog.UpdateModel(
                catalog_pb2.UpdateModelRequest(
                    model=catalog_pb2.Model(name=CHAT_MODEL, context_window=1, etag=model.etag),
                    update_mask={"paths": ["context_window"]},
                )
            )
        self.admin.delete_team("py-page-0", etag=team.etag)


if __name__ == "__main__":
    unittest.main()
