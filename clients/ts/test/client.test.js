// End-to-end tests of the TypeScript client against a live gateway, run
// from a fresh npm project where the packed tarball is installed (the Go
// driver, test/clients, builds the tarball with `npm pack`, installs it,
// starts a gateway with a fake upstream and runs `node --test` with
// TOLLGATE_URL, TOLLGATE_KEY, TOLLGATE_ADMIN_TOKEN, TOLLGATE_TEAM and
// TOLLGATE_CHAT_MODEL set). The Node entry point is tested over Connect,
// gRPC and gRPC-Web, the browser entry point over Connect and gRPC-Web.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  Code,
  ConnectError,
  DEFAULT_TIMEOUT_MS,
  KeyState,
  UsageDimension,
  chat,
  createTollgateClient,
  listAll,
  textOf,
  userMessage,
  withUnaryTimeout,
} from "@tollgate/client";
import * as web from "@tollgate/client/web";

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
  assert.throws(() => web.createTollgateClient({ baseUrl: "http://localhost", protocol: "grpc" }), /unknown protocol/);
});

test("unary calls get the default deadline, streams none", async () => {
  const seen = [];
  const fake = {
    unary: async (method, signal, timeoutMs) => seen.push(["unary", timeoutMs]),
    stream: async (method, signal, timeoutMs) => seen.push(["stream", timeoutMs]),
  };
  const t = withUnaryTimeout(fake, 1234);
  await t.unary(undefined, undefined, undefined);
  await t.unary(undefined, undefined, 99);
  await t.stream(undefined, undefined, undefined);
  await withUnaryTimeout(fake).unary(undefined, undefined, undefined);
  assert.equal(withUnaryTimeout(fake, 0), fake);
  assert.deepEqual(seen, [["unary", 1234], ["unary", 99], ["stream", undefined], ["unary", DEFAULT_TIMEOUT_MS]]);
});

const clients = [
  ...["connect", "grpc", "grpc-web"].map((protocol) => ({ name: `node ${protocol}`, create: createTollgateClient, protocol })),
  ...["connect", "grpc-web"].map((protocol) => ({ name: `web ${protocol}`, create: web.createTollgateClient, protocol })),
];

for (const { name, create, protocol } of clients) {
  describe(`against a gateway (${name})`, { skip: !live && "needs TOLLGATE_URL, TOLLGATE_KEY, TOLLGATE_ADMIN_TOKEN" }, () => {
    const tg = () => create({ baseUrl: env.TOLLGATE_URL, apiKey: env.TOLLGATE_KEY, protocol });
    const admin = () => create({ baseUrl: env.TOLLGATE_URL, apiKey: env.TOLLGATE_ADMIN_TOKEN, protocol });
    const id = (s) => `ts-${name.replace(" ", "-")}-${s}`;

    test("unary chat", async () => {
      const resp = await tg().inference.chat({ model, messages: [userMessage(`hello ${name}`)] });
      assert.equal(textOf(resp), `echo: hello ${name}`);
      assert.match(resp.id, /^req_/);
      assert.ok(resp.usage && resp.usage.outputTokens > 0n);
      assert.equal(await chat(tg(), model, "shortcut"), "echo: shortcut");
    });

    test("streaming chat", async () => {
      let text = "";
      let events = 0;
      let last;
      for await (const ev of tg().inference.chatStream({ request: { model, messages: [userMessage(`stream ${name}`)] } })) {
        events++;
        last = ev;
        text += ev.choices.map((c) => c.text).join("");
      }
      assert.equal(text, `echo: stream ${name}`);
      assert.ok(events >= 2, `only ${events} events`);
      assert.ok(last.usage && last.usage.outputTokens > 0n && last.cost);
    });

    test("admin calls", async () => {
      const team = id("team");
      await admin().admin.createTeam({ team: { id: team, displayName: `TS ${name}` } });
      const teams = await admin().admin.listTeams({});
      assert.ok(teams.teams.some((t) => t.id === team));
      const created = await admin().admin.createKey({ key: { teamId: team, name: "ts key" } });
      assert.match(created.secret, /^tg-/);
      const keys = await admin().admin.listKeys({ teamId: team });
      assert.deepEqual(keys.keys.map((k) => k.id), [created.key.id]);
      const revoked = await admin().admin.revokeKey({ id: created.key.id });
      assert.equal(revoked.key.state, KeyState.REVOKED);
      await assert.rejects(admin().admin.createTeam({ team: { id: team } }), (err) => ConnectError.from(err).code === Code.AlreadyExists);
    });

    test("pages and etags", async () => {
      const a = admin();
      for (const i of [0, 1, 2]) {
        await a.teams.createTeam({ team: { id: id(`page-${i}`) } });
      }
      const ids = [];
      let pages = 0;
      for await (const page of listAll(a.teams.listTeams, { pageSize: 1 })) {
        pages++;
        ids.push(...page.teams.map((t) => t.id));
      }
      assert.ok(pages >= 3, `only ${pages} pages`);
      assert.deepEqual(ids, [...ids].sort());
      for (const i of [0, 1, 2]) assert.ok(ids.includes(id(`page-${i}`)));
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
      const team = await a.teams.getTeam({ id: id("page-0") });
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
      const bad = create({ baseUrl: env.TOLLGATE_URL, apiKey: "tg-not-a-real-key", protocol });
      await assert.rejects(bad.inference.chat({ model, messages: [userMessage("hi")] }), (err) => {
        assert.ok(err instanceof ConnectError, `not a ConnectError: ${err}`);
        assert.equal(err.code, Code.Unauthenticated);
        assert.equal(err.rawMessage, "unknown API key");
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
