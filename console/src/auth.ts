// Signing in. Two ways, one result (a Credential the API clients carry and
// the Caller it stands for):
//
//   token    a token pasted on the login page: the gateway's admin token or
//            a service account's token. It is kept in this tab's
//            sessionStorage (gone when the tab closes) and sent as a bearer
//            token; the page's strict Content-Security-Policy keeps other
//            scripts from reading it.
//   session  single sign-on: the gateway's login handler runs the OpenID
//            Connect authorization code flow with PKCE and sets an
//            HttpOnly, Secure, SameSite session cookie the page never sees;
//            writes carry the session's CSRF token.

import { ConnectError, Code } from "@connectrpc/connect";
import { createApi, CSRF_HEADER, type Api, type Credential } from "./api";
import { PrincipalType } from "./gen";
import type { Caller } from "./caller";

const TOKEN_KEY = "tollgate.console.token";

/** savedToken returns the token this tab signed in with, if any. */
export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** saveToken keeps (or, with null, forgets) the tab's token. */
export function saveToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token lives in memory only.
  }
}

/** A signed-in session before the UI is built. */
export interface SignedIn {
  api: Api;
  cred: Credential;
  caller: Caller;
}

/**
 * whoAmI returns the principal a credential stands for and its roles, as
 * the gateway sees them (IdentityService.GetCaller), or throws the
 * gateway's refusal (Unauthenticated for a bad token or an ended session).
 */
export async function whoAmI(api: Api): Promise<Caller> {
  const p = (await api.identity.getCaller({})).principal;
  if (!p) throw new Error("the gateway did not say who is signed in");
  const name = p.type === PrincipalType.ADMIN_TOKEN ? "Admin token" : p.name || p.email || p.subject || p.id;
  return { id: p.id, name, type: PRINCIPAL_TYPES[p.type] ?? "unknown", roles: p.roles };
}

const PRINCIPAL_TYPES: Record<number, string> = {
  [PrincipalType.ADMIN_TOKEN]: "admin_token",
  [PrincipalType.USER]: "user",
  [PrincipalType.SERVICE_ACCOUNT]: "service_account",
};

/** signIn checks cred with the gateway and returns the session. */
export async function signIn(origin: string, cred: Credential, onExpired: () => void): Promise<SignedIn> {
  const api = createApi(origin, cred, onExpired);
  const caller = await whoAmI(api);
  return { api, cred, caller };
}

/** isUnauthenticated reports whether e is the gateway refusing a credential. */
export function isUnauthenticated(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.Unauthenticated;
}

/** The single sign-on the gateway offers. */
export interface SSO {
  /** Where the browser goes to sign in (and comes back to the page it was on). */
  loginURL: string;
}

/** The gateway's web login routes (same origin). */
const AUTH = "/auth";

/** What GET /auth/session answers for a signed-in person. */
interface SessionInfo {
  csrf_token: string;
}

/**
 * probeSession asks the gateway's web login about this browser: a
 * session (with its CSRF token), none yet (single sign-on is on: 401), or
 * no web login at all (404).
 */
async function probeSession(): Promise<{ sso: boolean; csrf?: string }> {
  const r = await fetch(`${AUTH}/session`, { credentials: "same-origin", redirect: "error", cache: "no-store" });
  if (r.status === 404) return { sso: false };
  if (!r.ok) return { sso: true };
  const s = (await r.json()) as SessionInfo;
  return { sso: true, csrf: s.csrf_token || undefined };
}

let probe: Promise<{ sso: boolean; csrf?: string }> | undefined;

/**
 * singleSignOn returns the gateway's web login, or null when single
 * sign-on is not configured.
 */
export async function singleSignOn(): Promise<SSO | null> {
  probe ??= probeSession();
  const { sso } = await probe;
  if (!sso) return null;
  const back = location.pathname.startsWith("/ui/") ? location.pathname + location.search : "/ui/";
  return { loginURL: `${AUTH}/login?return_to=${encodeURIComponent(back)}` };
}

/**
 * sessionCredential returns the credential of an existing single sign-on
 * session (its CSRF token), or null when there is none.
 */
export async function sessionCredential(): Promise<Credential | null> {
  probe ??= probeSession();
  const { csrf } = await probe;
  probe = undefined;
  return csrf ? { kind: "session", csrf } : null;
}

/**
 * signOut ends the session: forgets the tab's token, or ends the single
 * sign-on session at the gateway (a POST with the CSRF token, which
 * removes the HttpOnly cookie the page cannot touch).
 */
export async function signOut(cred: Credential | undefined): Promise<void> {
  saveToken(null);
  if (cred?.kind === "session") {
    await fetch(`${AUTH}/logout`, { method: "POST", credentials: "same-origin", redirect: "error", headers: { [CSRF_HEADER]: cred.csrf } });
  }
}
