/**
 * TypeScript client of the Tollgate AI gateway, for browsers (and any
 * runtime with the Fetch API): the same client as `@tollgate/client` on a
 * `@connectrpc/connect-web` transport, with no Node.js module in its
 * import graph.
 *
 * ```ts
 * import { chat, createTollgateClient } from "@tollgate/client/web";
 *
 * const tg = createTollgateClient({ baseUrl: window.location.origin, apiKey });
 * console.log(await chat(tg, "gpt-4o-mini", "Say hello"));
 * ```
 *
 * A page calls the gateway of its own origin (as the console does); a page
 * elsewhere needs the gateway to allow its origin (CORS) in front of it.
 *
 * @module
 */
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

import { clientOnTransport, type TollgateBaseOptions, type TollgateClient, transportOptions, withUnaryTimeout } from "./core.js";

export * from "./core.js";

/** Options of {@link createTollgateClient}. */
export interface TollgateWebClientOptions extends TollgateBaseOptions {
  /** The wire protocol: "connect" (default) or "grpc-web". */
  protocol?: "connect" | "grpc-web";
  /** The fetch function to use instead of globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
}

/** Returns clients of the gateway's services sharing one fetch transport. */
export function createTollgateClient(options: TollgateWebClientOptions): TollgateClient {
  const { baseUrl, interceptors } = transportOptions(options);
  let transport: Transport;
  switch (options.protocol ?? "connect") {
    case "connect":
      transport = createConnectTransport({ baseUrl, interceptors, fetch: options.fetch });
      break;
    case "grpc-web":
      transport = createGrpcWebTransport({ baseUrl, interceptors, fetch: options.fetch });
      break;
    default:
      throw new Error(`unknown protocol ${String(options.protocol)}: want "connect" or "grpc-web"`);
  }
  return clientOnTransport(withUnaryTimeout(transport, options.timeoutMs));
}
