/**
 * The part of the Tollgate client that runs anywhere: the services bundled
 * on one transport, the message helpers and the generated API. The entry
 * points add the transports: `@tollgate/client` for Node.js
 * (`@connectrpc/connect-node`: Connect, gRPC, gRPC-Web) and
 * `@tollgate/client/web` for browsers (`@connectrpc/connect-web`: Connect,
 * gRPC-Web over fetch).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";

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

/** The deadline of unary calls made without `timeoutMs`, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What every entry point's `createTollgateClient` takes. */
export interface TollgateBaseOptions {
  /** The gateway's base URL, e.g. "http://localhost:8080". */
  baseUrl: string;
  /** A virtual key ("tg-...") or the admin token, sent as "Authorization: Bearer ...". */
  apiKey?: string;
  /**
   * The deadline of unary calls that set none (`{ timeoutMs }` as a call
   * option), in milliseconds; 0 for none. Default {@link DEFAULT_TIMEOUT_MS}.
   * Streams get no default deadline: bound them with `timeoutMs` or `signal`.
   */
  timeoutMs?: number;
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

/**
 * Returns clients of the gateway's services on a transport of your own
 * (one created with the options {@link transportOptions} returns carries
 * the credential).
 */
export function clientOnTransport(transport: Transport): TollgateClient {
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
 * Returns the base URL without trailing slashes and the interceptors
 * (authentication first) for a transport built from options.
 */
export function transportOptions(options: TollgateBaseOptions): { baseUrl: string; interceptors: Interceptor[] } {
  const interceptors: Interceptor[] = [];
  if (options.apiKey) {
    interceptors.push(bearer(options.apiKey));
  }
  interceptors.push(...(options.interceptors ?? []));
  return { baseUrl: options.baseUrl.replace(/\/+$/, ""), interceptors };
}

/**
 * Returns a transport that gives unary calls without a deadline one of
 * timeoutMs (none when it is 0); streams pass unchanged.
 */
export function withUnaryTimeout(transport: Transport, timeoutMs: number = DEFAULT_TIMEOUT_MS): Transport {
  if (timeoutMs <= 0) {
    return transport;
  }
  return {
    unary: (method, signal, callTimeoutMs, header, input, contextValues) =>
      transport.unary(method, signal, callTimeoutMs ?? timeoutMs, header, input, contextValues),
    stream: (method, signal, callTimeoutMs, header, input, contextValues) =>
      transport.stream(method, signal, callTimeoutMs, header, input, contextValues),
  };
}

/**
 * Calls a List method page after page, yielding each response; pass the
 * generated client's method itself, so that the request and response
 * types follow from it:
 *
 * ```ts
 * for await (const page of listAll(tg.teams.listTeams, { pageSize: 50 })) {
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
