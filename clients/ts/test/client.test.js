// End-to-end tests of the TypeScript client (compiled to dist/) against a
// live gateway, over the Connect and the gRPC protocols. The Go driver
// (clients/ts/ts_test.go) builds the package, starts a gateway with a fake
// upstream and runs `node --test` with TOLLGATE_URL, TOLLGATE_KEY,
// TOLLGATE_ADMIN_TOKEN and TOLLGATE_TEAM set.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  Code,
  ConnectError,
  KeyState,
  UsageDimension,
  chat,
  createTollgateClient,
  listAll,
  textOf,
  userMessage,
} from "../dist/index.js";

const env = process.env;
const live = Boolean(env.TOLLGATE_URL && env.TOLLGATE_KEY && env.TOLLGATE_ADMIN_TOKEN);
const team = env.TOLLGATE_TEAM ?? "team-a";
const model = env.TOLLGATE_CHAT_MODEL ?? "gpt-4o-mini";

test("userMessage and textOf", () => {
  const m = userMessage("hello");
  assert.equal(textOf(m), "hello");
  assert.equal(textOf(undefined), "");
});

test("unknown protocol is refused", () => {
  assert.throws(() => createTollgateClient({ baseUrl: "http://localhost", protocol: "soap" }), /unknown protocol/);
});

for (const protocol of ["connect", "grpc"]) {
  describe(`against a gateway over ${protocol}`, { skip: !live && "needs TOLLGATE_URL, TOLLGATE_KEY, TOLLGATE_ADMIN_TOKEN" }, () => {
    const tg = () => createTollgateClient({ baseUrl: env.TOLLGATE_URL, apiKey: env.TOLLGATE_KEY, protocol });
    const admin = () => createTollgateClient({ baseUrl: env.TOLLGATE_URL, apiKey: env.TOLLGATE_ADMIN_TOKEN, protocol });

    test("unary chat", async () => {
      const resp = await tg().inference.chat({ model, messages: [userMessage(`hello ${protocol}`)] });
      assert.equal(textOf(resp), `echo: hello ${protocol}`);
      assert.match(resp.id, /^req_/);
      assert.ok(resp.usage && resp.usage.outputTokens > 0n);
      assert.equal(await chat(tg(), model, "shortcut"), "echo: shortcut");
    });

    test("streaming chat", async () => {
      let text = "";
      let events = 0;
      let last;
      for await (const ev of tg().inference.chatStream({ request: { model, messages: [userMessage(`stream ${protocol}`)] } })) {
        events++;
        last = ev;
        text += ev.choices.map((c) => c.text).join("");
      }
      assert.equal(text, `echo: stream ${protocol}`);
      assert.ok(events >= 2, `only ${events} events`);
      assert.ok(last.usage && last.usage.outputTokens > 0n && last.cost);
    });

    test("admin calls", async () => {
      const id = `ts-${protocol}`;
      await admin().admin.createTeam({ team: { id, displayName: `TS ${protocol}` } });
      const teams = await admin().admin.listTeams({});
      assert.ok(teams.teams.some((t) => t.id === id));
      const created = await admin().admin.createKey({ key: { teamId: id, name: "ts key" } });
      assert.match(created.secret, /^tg-/);
      const keys = await admin().admin.listKeys({ teamId: id });
      assert.deepEqual(keys.keys.map((k) => k.id), [created.key.id]);
      const revoked = await admin().admin.revokeKey({ id: created.key.id });
      assert.equal(revoked.key.state, KeyState.REVOKED);
      await assert.rejects(admin().admin.createTeam({ team: { id } }), (err) => ConnectError.from(err).code === Code.AlreadyExists);
    });

    test("pages and etags", async () => {
      const a = admin();
      for (const i of [0, 1, 2]) {
        await a.teams.createTeam({ team: { id: `ts-${protocol}-page-${i}` } });
      }
      const ids = [];
      let pages = 0;
      for await (const page of listAll((r) => a.teams.listTeams(r), { pageSize: 1 })) {
        pages++;
        ids.push(...page.teams.map((t) => t.id));
      }
      assert.ok(pages >= 3, `only ${pages} pages`);
      assert.deepEqual(ids, [...ids].sort());
      for (const i of [0, 1, 2]) assert.ok(ids.includes(`ts-${protocol}-page-${i}`));
      await assert.rejects(a.teams.listTeams({ pageToken: "garbage" }), (err) => ConnectError.from(err).code === Code.InvalidArgument);

      const got = await a.catalog.getModel({ name: model });
      const updated = await a.catalog.updateModel({
        model: { name: model, maxOutputTokens: 2048, etag: got.model.etag },
        updateMask: { paths: ["max_output_tokens"] },
      });
      assert.equal(updated.model.maxOutputTokens, 2048);
      assert.equal(updated.model.providerId, got.model.providerId);
      assert.notEqual(updated.model.etag, got.model.etag);
      await assert.rejects(
        a.catalog.updateModel({ model: { name: model, maxOutputTokens: 1, etag: got.model.etag }, updateMask: { paths: ["max_output_tokens"] } }),
        (err) => ConnectError.from(err).code === Code.FailedPrecondition,
      );
      const team = await a.teams.getTeam({ id: `ts-${protocol}-page-0` });
      await a.teams.deleteTeam({ id: team.team.id, etag: team.team.etag });
    });

    test("usage query", async () => {
      await tg().inference.chat({ model, messages: [userMessage("count me")] });
      const deadline = Date.now() + 15_000;
      for (;;) {
        const recs = await admin().usage.listRequestRecords({ teamId: team });
        if (recs.records.some((r) => r.operation === "chat")) break;
        assert.ok(Date.now() < deadline, "no request record after 15s");
        await new Promise((r) => setTimeout(r, 100));
      }
      const sum = await tg().usage.getUsageSummary({ groupBy: [UsageDimension.TEAM] });
      assert.ok(sum.total && sum.total.requests > 0n);
      assert.ok(sum.groups.some((g) => g.keys[0] === team));
    });

    test("authentication failure", async () => {
      const bad = createTollgateClient({ baseUrl: env.TOLLGATE_URL, apiKey: "tg-not-a-real-key", protocol });
      await assert.rejects(bad.inference.chat({ model, messages: [userMessage("hi")] }), (err) => {
        assert.ok(err instanceof ConnectError, `not a ConnectError: ${err}`);
        assert.equal(err.code, Code.Unauthenticated);
        return true;
      });
      await assert.rejects(
        (async () => {
          for await (const _ of bad.inference.chatStream({ request: { model, messages: [userMessage("hi")] } })) {
            // unreachable: the stream fails first
          }
        })(),
        (err) => ConnectError.from(err).code === Code.Unauthenticated,
      );
      // A virtual key is not an admin token.
      await assert.rejects(tg().admin.listKeys({}), (err) => ConnectError.from(err).code === Code.Unauthenticated);
    });
  });
}
