// Small building blocks shared by the pages: data loading, dialogs, form
// fields, notices, progress bars and sparklines. Plain HTML elements with
// their native keyboard behaviour; nothing inline that the page's
// Content-Security-Policy would refuse (styles are set through the DOM's
// style objects, never as style attributes in markup).

import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { errorMessage, type Api } from "./api";
import type { Caller } from "./caller";

/** What every page gets: the API as the signed-in person, and who that is. */
export interface Session {
  api: Api;
  caller: Caller;
  /** notify shows a short message in the page's live region. */
  notify: (text: string, kind?: "ok" | "error") => void;
}

export const SessionContext = createContext<Session | null>(null);

/** useSession returns the signed-in session (pages render only inside one). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a session");
  return s;
}

/** The state of an asynchronous load. */
export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * useLoad runs load when deps change (and on reload), keeping the last
 * data while a new load runs; a result that arrives after a newer load
 * started is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (error) => mine === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/** useInterval calls fn every ms while the page is visible. */
export function useInterval(fn: () => void, ms: number): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const id = setInterval(() => document.visibilityState === "visible" && ref.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

/**
 * styled returns a ref that sets inline styles through the DOM (which the
 * Content-Security-Policy allows, unlike style attributes in markup).
 */
export function styled(style: Partial<Record<"width" | "left" | "background", string>>) {
  return (el: HTMLElement | null) => {
    if (el) Object.assign(el.style, style);
  };
}

/** Page is a page's frame: its heading, actions and content. */
export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; intro?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · Tollgate`;
  }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.intro && <p class="intro">{props.intro}</p>}
      {props.children}
    </section>
  );
}

/** Card groups related content under a heading. */
export function Card(props: { title?: ComponentChildren; children: ComponentChildren; class?: string; actions?: ComponentChildren; id?: string }) {
  return (
    <section class={"card " + (props.class ?? "")} id={props.id}>
      {(props.title || props.actions) && (
        <header class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

/** ErrorNotice shows a failed load or call. */
export function ErrorNotice(props: { error: unknown }) {
  return (
    <p class="notice error" role="alert">
      {errorMessage(props.error)}
    </p>
  );
}

/** Status renders a load's error or a loading line, else nothing. */
export function LoadStatus(props: { state: { error?: unknown; loading: boolean; data?: unknown } }) {
  if (props.state.error) return <ErrorNotice error={props.state.error} />;
  if (props.state.loading && props.state.data === undefined)
    return (
      <p class="muted" aria-busy="true">
        Loading…
      </p>
    );
  return null;
}

/** Empty is shown where a list has nothing in it. */
export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty muted">{props.children}</p>;
}

/**
 * Dialog is a modal <dialog>: focus moves into it, Escape closes it, and
 * focus returns where it was when it closes.
 */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class={props.wide ? "wide" : ""} aria-labelledby="dialog-title" onClose={props.onClose} onCancel={props.onClose}>
      {props.open && (
        <>
          <header class="dialog-head">
            <h2 id="dialog-title">{props.title}</h2>
            <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          </header>
          {props.children}
        </>
      )}
    </dialog>
  );
}

/** Field is a labelled form control with an optional hint. */
export function Field(props: { label: string; hint?: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={"field" + (props.wide ? " wide" : "")}>
      <span class="label">{props.label}</span>
      {props.children}
      {props.hint && <span class="hint">{props.hint}</span>}
    </label>
  );
}

/**
 * Form runs an async submit, disables itself while it runs and shows the
 * error, if any, at its foot.
 */
export function Form(props: { onSubmit: () => Promise<void>; submit: string; children: ComponentChildren; cancel?: () => void; danger?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="form" aria-busy={busy}>
      <fieldset disabled={busy}>{props.children}</fieldset>
      {error !== undefined && <ErrorNotice error={error} />}
      <div class="form-actions">
        {props.cancel && (
          <button type="button" onClick={props.cancel}>
            Cancel
          </button>
        )}
        <button type="submit" class={props.danger ? "danger" : "primary"} disabled={busy}>
          {props.submit}
        </button>
      </div>
    </form>
  );
}

/**
 * Bar is a horizontal progress bar (role progressbar) with optional
 * threshold markers in percent of max.
 */
export function Bar(props: { value: number; max: number; label: string; text?: string; markers?: number[]; tone?: "ok" | "warn" | "bad" }) {
  const pct = props.max > 0 ? Math.min(100, (props.value / props.max) * 100) : 0;
  const fill = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (fill.current) fill.current.style.width = `${pct}%`;
  }, [pct]);
  return (
    <div
      class={"bar " + (props.tone ?? "ok")}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(pct)}
      aria-valuetext={props.text}
    >
      <div class="bar-fill" ref={fill} />
      {props.markers?.map((m) => <Marker key={m} at={m} />)}
    </div>
  );
}

function Marker(props: { at: number }) {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.style.left = `${Math.min(100, props.at)}%`;
  }, [props.at]);
  return <span class="bar-marker" ref={ref} title={`${props.at} % alert threshold`} />;
}

/** Sparkline draws values as a small line (SVG), described by label. */
export function Sparkline(props: { values: number[]; label: string; width?: number; height?: number }) {
  const w = props.width ?? 96;
  const h = props.height ?? 24;
  const max = Math.max(...props.values, 0);
  const step = props.values.length > 1 ? w / (props.values.length - 1) : w;
  const pts = props.values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (max > 0 ? (v / max) * (h - 4) : 0)).toFixed(1)}`).join(" ");
  return (
    <svg class="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label}>
      <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

/** Copy is a button copying text to the clipboard, saying so when done. */
export function Copy(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const { notify } = useSession();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setDone(true);
      notify("Copied to the clipboard");
    } catch {
      notify("The browser refused the clipboard: select the text and copy it", "error");
    }
  };
  return (
    <button type="button" onClick={copy} class="copy">
      {done ? "Copied" : (props.label ?? "Copy")}
    </button>
  );
}

/** Select is a labelled drop-down of options. */
export function Select(props: {
  value: string;
  onChange: (v: string) => void;
  options: (string | [string, string])[];
  label?: string;
  id?: string;
  name?: string;
}) {
  return (
    <select
      value={props.value}
      name={props.name}
      id={props.id}
      aria-label={props.label}
      onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
    >
      {props.options.map((o) => {
        const [v, l] = typeof o === "string" ? [o, o] : o;
        return (
          <option key={v} value={v}>
            {l}
          </option>
        );
      })}
    </select>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** Time shows a timestamp (local time) with its ISO form for machines. */
export function Time(props: { at?: { seconds: bigint; nanos: number } | Date; seconds?: boolean; empty?: string }) {
  const d = toDate(props.at);
  if (!d) return <span class="muted">{props.empty ?? "—"}</span>;
  return <time dateTime={d.toISOString()}>{(props.seconds ? dateTimeSeconds : dateTime).format(d)}</time>;
}

/** toDate converts a protobuf Timestamp (or a Date) to a Date. */
export function toDate(t?: { seconds: bigint; nanos: number } | Date): Date | undefined {
  if (!t) return undefined;
  if (t instanceof Date) return t;
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));
}

/** durationMs converts a protobuf Duration to milliseconds. */
export function durationMs(d?: { seconds: bigint; nanos: number }): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}

/** formatMs formats milliseconds for people ("84 ms", "1.25 s"). */
export function formatMs(ms?: number): string {
  if (ms === undefined) return "—";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** formatRelative says how long ago or until d ("in 3 h", "5 min ago"). */
export function formatRelative(d: Date, now = new Date()): string {
  const s = Math.round((d.getTime() - now.getTime()) / 1000);
  const a = Math.abs(s);
  const txt = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 172800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} days`;
  return s >= 0 ? `in ${txt}` : `${txt} ago`;
}

const ints = new Intl.NumberFormat("en-US");
/** formatInt formats a count ("12,345"). */
export function formatInt(n: bigint | number): string {
  return ints.format(n);
}

/** timestamp converts a Date to the fields of a protobuf Timestamp. */
export function timestamp(d: Date): { seconds: bigint; nanos: number } {
  const ms = d.getTime();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
