/**
 * TypeScript client of the Tollgate AI gateway, for Node.js.
 *
 * ```ts
 * import { chat, createTollgateClient, userMessage } from "@tollgate/client";
 *
 * const tg = createTollgateClient({ baseUrl: "http://localhost:8080", apiKey: process.env.TOLLGATE_KEY });
 * console.log(await chat(tg, "gpt-4o-mini", "Say hello"));
 * for await (const ev of tg.inference.chatStream({ request: { model: "gpt-4o-mini", messages: [userMessage("Hi")] } })) {
 *   process.stdout.write(ev.choices.map((c) => c.text).join(""));
 * }
 * ```
 *
 * Deadlines are per call: `tg.inference.chat(req, { timeoutMs: 30_000 })`.
 * Every List call pages (`pageSize`, `pageToken`, `nextPageToken`);
 * {@link listAll} follows the pages.
 * Errors are ConnectError values; compare `err.code` with `Code.Unauthenticated`,
 * `Code.ResourceExhausted` and so on.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";

import { CatalogService } from "./gen/tollgate/v1/catalog_pb.js";
import {
  type ChatResponse,
  ContentPartSchema,
  InferenceService,
  type Message,
  MessageSchema,
  Role,
} from "./gen/tollgate/v1/inference_pb.js";
import { PolicyService } from "./gen/tollgate/v1/policy_pb.js";
import { TeamService } from "./gen/tollgate/v1/teams_pb.js";
import { UsageService } from "./gen/tollgate/v1/usage_pb.js";

export * from "./gen/google/type/money_pb.js";
export * from "./gen/tollgate/v1/alerts_pb.js";
export * from "./gen/tollgate/v1/cache_pb.js";
export * from "./gen/tollgate/v1/catalog_pb.js";
export * from "./gen/tollgate/v1/common_pb.js";
export * from "./gen/tollgate/v1/governance_pb.js";
export * from "./gen/tollgate/v1/guardrails_pb.js";
export * from "./gen/tollgate/v1/inference_pb.js";
export * from "./gen/tollgate/v1/policy_pb.js";
export * from "./gen/tollgate/v1/routing_pb.js";
export * from "./gen/tollgate/v1/teams_pb.js";
export * from "./gen/tollgate/v1/usage_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";

/** Options of {@link createTollgateClient}. */
export interface TollgateClientOptions {
  /** The gateway's base URL, e.g. "http://localhost:8080". */
  baseUrl: string;
  /** A virtual key ("tg-...") or the admin token, sent as "Authorization: Bearer ...". */
  apiKey?: string;
  /**
   * The wire protocol: "connect" (default; HTTP/1.1) or "grpc" (HTTP/2, in
   * plain text for http:// URLs).
   */
  protocol?: "connect" | "grpc";
  /** More interceptors, run after the authentication one. */
  interceptors?: Interceptor[];
}

/**
 * The admin API (admin token): the methods of CatalogService (providers,
 * models, routes), TeamService (teams, keys) and PolicyService (budgets,
 * rate limits, guardrails, alerts, cache) on one object.
 */
export type AdminClient = Client<typeof CatalogService> & Client<typeof TeamService> & Client<typeof PolicyService>;

/** The services of the gateway, each with the client's credential. */
export interface TollgateClient {
  /** Model calls (virtual key). */
  inference: Client<typeof InferenceService>;
  /** Providers, models and routes (admin token). */
  catalog: Client<typeof CatalogService>;
  /** Teams and their virtual keys (admin token). */
  teams: Client<typeof TeamService>;
  /** Budgets, rate limits, guardrails, alerts and the cache (admin token). */
  policy: Client<typeof PolicyService>;
  /** The three admin services at once. */
  admin: AdminClient;
  /** Request records and usage totals (either credential). */
  usage: Client<typeof UsageService>;
  /** The transport the clients share. */
  transport: Transport;
}

/** Returns clients of the gateway's services sharing one transport. */
export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const interceptors: Interceptor[] = [];
  if (options.apiKey) {
    interceptors.push(bearer(options.apiKey));
  }
  interceptors.push(...(options.interceptors ?? []));
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  let transport: Transport;
  switch (options.protocol ?? "connect") {
    case "connect":
      transport = createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
      break;
    case "grpc":
      transport = createGrpcTransport({ baseUrl, interceptors });
      break;
    default:
      throw new Error(`unknown protocol ${String(options.protocol)}: want "connect" or "grpc"`);
  }
  const catalog = createClient(CatalogService, transport);
  const teams = createClient(TeamService, transport);
  const policy = createClient(PolicyService, transport);
  return {
    inference: createClient(InferenceService, transport),
    catalog,
    teams,
    policy,
    admin: { ...catalog, ...teams, ...policy },
    usage: createClient(UsageService, transport),
    transport,
  };
}

/**
 * Calls a List method page after page, yielding each response:
 *
 * ```ts
 * for await (const page of listAll((r) => tg.teams.listTeams(r), { pageSize: 50 })) {
 *   for (const t of page.teams) console.log(t.id);
 * }
 * ```
 */
export async function* listAll<Req extends { pageToken?: string }, Res extends { nextPageToken: string }>(
  call: (req: Req) => Promise<Res>,
  req: Req,
): AsyncGenerator<Res> {
  let next: Req = { ...req };
  for (;;) {
    const resp = await call(next);
    yield resp;
    if (resp.nextPageToken === "") {
      return;
    }
    next = { ...next, pageToken: resp.nextPageToken };
  }
}

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
}

/** Returns a user message holding text. */
export function userMessage(text: string): Message {
  return create(MessageSchema, {
    role: Role.USER,
    content: [create(ContentPartSchema, { part: { case: "text", value: text } })],
  });
}

/** Returns the text parts of a message, or of a chat response's first choice, concatenated. */
export function textOf(m: Message | ChatResponse | undefined): string {
  if (m === undefined) {
    return "";
  }
  if (m.$typeName === "tollgate.v1.ChatResponse") {
    return textOf(m.choices[0]?.message);
  }
  return m.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("");
}

/** Sends text as one user message to model and returns the answer's text. */
export async function chat(client: TollgateClient, model: string, text: string): Promise<string> {
  const resp = await client.inference.chat({ model, messages: [userMessage(text)] });
  if (resp.choices.length === 0) {
    throw new Error("tollgate: response has no choices");
  }
  return textOf(resp);
}
