// The console's connection to the gateway: Connect clients of the admin
// and usage services over fetch, on the page's own origin, carrying the
// signed-in person's credential.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CatalogService, IdentityService, PolicyService, TeamService, UsageService } from "./gen";

/** How the person signed in. */
export type Credential =
  /** A token pasted on the login page (the admin token or a service-account token), sent as a bearer token. */
  | { kind: "token"; token: string }
  /** A session cookie set by the gateway's single sign-on login; writes carry its CSRF token. */
  | { kind: "session"; csrf: string };

/** The gateway's services, as the signed-in person. */
export interface Api {
  catalog: Client<typeof CatalogService>;
  teams: Client<typeof TeamService>;
  policy: Client<typeof PolicyService>;
  usage: Client<typeof UsageService>;
  identity: Client<typeof IdentityService>;
}

/** The header a session's writes carry their CSRF token in. */
export const CSRF_HEADER = "X-CSRF-Token";

/** credentialInterceptor adds the credential to every call. */
export function credentialInterceptor(cred: Credential): Interceptor {
  return (next) => async (req) => {
    if (cred.kind === "token") req.header.set("Authorization", `Bearer ${cred.token}`);
    else if (cred.csrf) req.header.set(CSRF_HEADER, cred.csrf);
    return next(req);
  };
}

/**
 * createApi returns clients for baseUrl (the page's origin) with cred.
 * onUnauthenticated runs when the gateway refuses the credential (an
 * expired session, a revoked token), so the page can ask to sign in again.
 */
export function createApi(baseUrl: string, cred: Credential, onUnauthenticated?: () => void): Api {
  const watch: Interceptor = (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.Unauthenticated) onUnauthenticated?.();
      throw e;
    }
  };
  const transport = createConnectTransport({
    baseUrl,
    useBinaryFormat: true,
    // Same-origin only: cookies (a session) go with the calls, nowhere else.
    fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin", redirect: "error" }),
    interceptors: [credentialInterceptor(cred), watch],
  });
  return {
    catalog: createClient(CatalogService, transport),
    teams: createClient(TeamService, transport),
    policy: createClient(PolicyService, transport),
    usage: createClient(UsageService, transport),
    identity: createClient(IdentityService, transport),
  };
}

/** errorMessage turns an error into a sentence for people. */
export function errorMessage(e: unknown): string {
  if (e instanceof ConnectError) {
    switch (e.code) {
      case Code.PermissionDenied:
        return `Not allowed: ${e.rawMessage}`;
      case Code.Unauthenticated:
        return `Not signed in: ${e.rawMessage}`;
      case Code.Unavailable:
        return `The gateway is unavailable: ${e.rawMessage}`;
      case Code.FailedPrecondition:
        return `Someone changed this in the meantime, or it is in use: ${e.rawMessage}`;
      default:
        return e.rawMessage || Code[e.code];
    }
  }
  return e instanceof Error ? e.message : String(e);
}

/** isDenied reports whether e is the gateway refusing the call for lack of a role. */
export function isDenied(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.PermissionDenied;
}

/** listAll follows a List call's pages up to max items. */
export async function listAll<T, R extends { nextPageToken: string }>(
  call: (pageToken: string) => Promise<R>,
  items: (r: R) => T[],
  max = 5000,
): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const r = await call(token);
    out.push(...items(r));
    token = r.nextPageToken;
  } while (token && out.length < max);
  return out;
}
