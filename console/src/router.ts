// A small router over the History API: pages live at /ui/<page> and keep
// their filters in the query string, so every view has a URL to share and
// the browser's back button works.

import { createContext } from "preact";
import { useContext } from "preact/hooks";

export const BASE = "/ui/";

/** Where the app is and how to move. */
export interface Nav {
  url: URL;
  /** navigate goes to a path below /ui/ ("keys?team=x"), adding a history entry unless replace. */
  navigate: (to: string, replace?: boolean) => void;
}

export const NavContext = createContext<Nav>({
  url: new URL("http://localhost/ui/"),
  navigate: () => {},
});

/** useNav returns the router state. */
export function useNav(): Nav {
  return useContext(NavContext);
}

/** pageOf returns the first path segment below /ui/ ("" for the start page). */
export function pageOf(url: URL): string {
  const rest = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : "";
  return rest.split("/")[0] ?? "";
}

/** href returns the full path of a page path ("keys" → "/ui/keys"). */
export function href(to: string): string {
  return BASE + to.replace(/^\/+/, "");
}

/**
 * withQuery returns the page's path with params changed: empty values are
 * dropped, so the URL holds only the filters in use.
 */
export function withQuery(url: URL, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams(url.search);
  for (const [k, v] of Object.entries(params)) {
    if (v) q.set(k, v);
    else q.delete(k);
  }
  const s = q.toString();
  return url.pathname.slice(BASE.length) + (s ? "?" + s : "");
}
