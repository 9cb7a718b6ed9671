/**
 * TypeScript client of the Tollgate AI gateway, for Node.js (browsers:
 * `@tollgate/client/web`, which bundlers pick by themselves through the
 * package's "browser" export condition).
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
 * Deadlines are per call (`tg.inference.chat(req, { timeoutMs: 30_000 })`);
 * unary calls without one get the client's `timeoutMs` (60 s by default).
 * Every List call pages (`pageSize`, `pageToken`, `nextPageToken`);
 * {@link listAll} follows the pages. Errors are ConnectError values;
 * compare `err.code` with `Code.Unauthenticated`, `Code.ResourceExhausted`
 * and so on.
 *
 * @module
 */
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

import { clientOnTransport, type TollgateBaseOptions, type TollgateClient, transportOptions, withUnaryTimeout } from "./core.js";

export * from "./core.js";

/** Options of {@link createTollgateClient}. */
export interface TollgateClientOptions extends TollgateBaseOptions {
  /**
   * The wire protocol: "connect" (default; HTTP/1.1), "grpc" (HTTP/2, in
   * plain text for http:// URLs) or "grpc-web" (HTTP/1.1).
   */
  protocol?: "connect" | "grpc" | "grpc-web";
}

/** Returns clients of the gateway's services sharing one Node.js transport. */
export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const { baseUrl, interceptors } = transportOptions(options);
  let transport: Transport;
  switch (options.protocol ?? "connect") {
    case "connect":
      transport = createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
      break;
    case "grpc":
      transport = createGrpcTransport({ baseUrl, interceptors });
      break;
    case "grpc-web":
      transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
      break;
    default:
      throw new Error(`unknown protocol ${String(options.protocol)}: want "connect", "grpc" or "grpc-web"`);
  }
  return clientOnTransport(withUnaryTimeout(transport, options.timeoutMs));
}
