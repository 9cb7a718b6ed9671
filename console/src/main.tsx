// The console's entry point: sign-in, the frame (navigation, header,
// theme) and the pages.

import "uplot/dist/uPlot.min.css";
import "./styles.css";

import { render, type ComponentChildren } from "preact";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { errorMessage, type Credential } from "./api";
import { isUnauthenticated, savedToken, saveToken, sessionCredential, signIn, signOut, singleSignOn, type SignedIn, type SSO } from "./auth";
import { canReadAudit, roleSummary } from "./caller";
import { AuditPage } from "./pages/audit";
import { BudgetsPage } from "./pages/budgets";
import { CachePage } from "./pages/cache";
import { GuardrailsPage } from "./pages/guardrails";
import { KeysPage } from "./pages/keys";
import { ProvidersPage } from "./pages/providers";
import { RequestsPage } from "./pages/requests";
import { RoutesPage } from "./pages/routes";
import { SpendPage } from "./pages/spend";
import { TeamsPage } from "./pages/teams";
import { BASE, href, NavContext, pageOf, useNav, type Nav } from "./router";
import { ThemeContext, type Theme } from "./theme";
import { SessionContext, type Session } from "./ui";

interface PageDef {
  path: string;
  title: string;
  component: () => ComponentChildren;
  show?: (s: Session) => boolean;
}

const PAGES: PageDef[] = [
  { path: "spend", title: "Spend", component: () => <SpendPage /> },
  { path: "budgets", title: "Budgets", component: () => <BudgetsPage /> },
  { path: "keys", title: "Keys", component: () => <KeysPage /> },
  { path: "teams", title: "Teams and services", component: () => <TeamsPage /> },
  { path: "providers", title: "Providers and models", component: () => <ProvidersPage /> },
  { path: "routes", title: "Routes", component: () => <RoutesPage /> },
  { path: "guardrails", title: "Guardrails", component: () => <GuardrailsPage /> },
  { path: "cache", title: "Cache", component: () => <CachePage /> },
  { path: "requests", title: "Requests", component: () => <RequestsPage /> },
  { path: "audit", title: "Audit", component: () => <AuditPage />, show: (s) => canReadAudit(s.caller) },
];

function initialTheme(): Theme {
  try {
    const t = localStorage.getItem("tollgate.console.theme");
    if (t === "light" || t === "dark") return t;
  } catch {
    // no storage
  }
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function App() {
  const [url, setURL] = useState(() => new URL(location.href));
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [signed, setSigned] = useState<SignedIn | null>(null);
  const [checking, setChecking] = useState(true);
  const [expired, setExpired] = useState(false);
  const [sso, setSSO] = useState<SSO | null>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  useEffect(() => {
    const pop = () => setURL(new URL(location.href));
    addEventListener("popstate", pop);
    return () => removeEventListener("popstate", pop);
  }, []);
  const nav: Nav = useMemo(
    () => ({
      url,
      navigate: (to: string, replace?: boolean) => {
        const next = new URL(href(to), location.origin);
        if (replace) history.replaceState(null, "", next);
        else history.pushState(null, "", next);
        setURL(next);
      },
    }),
    [url],
  );

  const onExpired = useCallback(() => setExpired(true), []);
  // Resume: an existing single sign-on session, else this tab's token.
  useEffect(() => {
    (async () => {
      try {
        setSSO(await singleSignOn());
        const session = await sessionCredential();
        const token = savedToken();
        const cred: Credential | null = session ?? (token ? { kind: "token", token } : null);
        if (cred) setSigned(await signIn(location.origin, cred, onExpired));
      } catch (e) {
        if (!isUnauthenticated(e)) console.warn("sign-in check failed:", errorMessage(e));
        saveToken(null);
      } finally {
        setChecking(false);
      }
    })();
  }, [onExpired]);

  const login = async (cred: Credential) => {
    const s = await signIn(location.origin, cred, onExpired);
    if (cred.kind === "token") saveToken(cred.token);
    setExpired(false);
    setSigned(s);
  };
  const logout = async () => {
    await signOut(signed?.cred);
    setSigned(null);
  };

  let body: ComponentChildren;
  if (checking) body = <p class="center muted">Loading…</p>;
  else if (!signed || expired) body = <Login sso={sso} onLogin={login} expired={expired} />;
  else body = <Shell signed={signed} onLogout={logout} />;
  return (
    <ThemeContext.Provider value={{ theme, setTheme }}>
      <NavContext.Provider value={nav}>{body}</NavContext.Provider>
    </ThemeContext.Provider>
  );
}

function Login(props: { sso: SSO | null; onLogin: (c: Credential) => Promise<void>; expired: boolean }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = "Sign in · Tollgate";
    input.current?.focus();
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onLogin({ kind: "token", token: token.trim() });
    } catch (err) {
      setError(isUnauthenticated(err) ? "The gateway does not accept this token." : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <div class="login-card">
        <h1>
          <span class="logo" aria-hidden="true">
            ◆
          </span>{" "}
          Tollgate
        </h1>
        {props.expired && (
          <p class="notice" role="status">
            Your session has ended. Sign in again.
          </p>
        )}
        {props.sso && (
          <>
            <a class="button primary block" href={props.sso.loginURL} id="sso-login">
              Sign in with single sign-on
            </a>
            <p class="or">or</p>
          </>
        )}
        <form onSubmit={submit} class="form" aria-busy={busy}>
          <label class="field">
            <span class="label">Admin or service-account token</span>
            <input
              ref={input}
              id="token"
              name="token"
              type="password"
              autocomplete="off"
              required
              value={token}
              onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            />
            <span class="hint">Kept in this tab only, until you sign out or close it.</span>
          </label>
          {error && (
            <p class="notice error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="primary block" disabled={busy || !token.trim()}>
            Sign in
          </button>
        </form>
      </div>
    </main>
  );
}

function Shell(props: { signed: SignedIn; onLogout: () => void }) {
  const { url, navigate } = useNav();
  const [notices, setNotices] = useState<{ id: number; text: string; kind: "ok" | "error" }[]>([]);
  const [menu, setMenu] = useState(false);
  const seq = useRef(0);
  const notify = useCallback((text: string, kind: "ok" | "error" = "ok") => {
    const id = ++seq.current;
    setNotices((n) => [...n, { id, text, kind }]);
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), 5000);
  }, []);
  const session: Session = useMemo(() => ({ api: props.signed.api, caller: props.signed.caller, notify }), [props.signed, notify]);
  const pages = PAGES.filter((p) => !p.show || p.show(session));
  const current = pageOf(url);
  const page = pages.find((p) => p.path === current);
  // An unknown page (or /ui/ itself) goes to Spend, before the page is
  // painted; the check reads the address bar, not this render's URL, so a
  // click made meanwhile is never undone by a late redirect.
  useLayoutEffect(() => {
    if (!page && !pages.some((p) => p.path === pageOf(new URL(location.href)))) navigate("spend", true);
  }, [page, navigate]);
  // Move focus to the heading when the page changes, for screen readers.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("page-title")?.focus();
    setMenu(false);
  }, [current]);
  const go = (e: MouseEvent, to: string) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <div class={"shell" + (menu ? " menu-open" : "")}>
        <header class="top">
          <button type="button" class="icon menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)} aria-label="Menu">
            ☰
          </button>
          <a class="brand" href={href("spend")} onClick={(e) => go(e, "spend")}>
            <span class="logo" aria-hidden="true">
              ◆
            </span>{" "}
            Tollgate
          </a>
          <div class="who">
            <span class="caller" id="caller" title={props.signed.caller.id}>
              {props.signed.caller.name}
            </span>
            <span class="roles muted" id="roles">
              {roleSummary(props.signed.caller)}
            </span>
            <ThemeToggle />
            <button type="button" onClick={props.onLogout} id="logout">
              Sign out
            </button>
          </div>
        </header>
        <nav id="nav" aria-label="Console">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a href={href(p.path)} aria-current={p.path === current ? "page" : undefined} onClick={(e) => go(e, p.path)}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">{page ? page.component() : null}</main>
        <div class="notices" role="status" aria-live="polite">
          {notices.map((n) => (
            <p key={n.id} class={"toast " + n.kind}>
              {n.text}
            </p>
          ))}
        </div>
      </div>
    </SessionContext.Provider>
  );
}

function ThemeToggle() {
  return (
    <ThemeContext.Consumer>
      {({ theme, setTheme }) => (
        <button
          type="button"
          class="icon"
          aria-label={theme === "dark" ? "Use the light theme" : "Use the dark theme"}
          title={theme === "dark" ? "Light theme" : "Dark theme"}
          onClick={() => {
            const t = theme === "dark" ? "light" : "dark";
            try {
              localStorage.setItem("tollgate.console.theme", t);
            } catch {
              // no storage
            }
            setTheme(t);
          }}
        >
          {theme === "dark" ? "☀" : "☾"}
        </button>
      )}
    </ThemeContext.Consumer>
  );
}

if (!location.pathname.startsWith(BASE)) history.replaceState(null, "", BASE);
render(<App />, document.getElementById("app")!);
