// Audit: every admin write (and refused attempt), newest first, with
// filters, the actor and the change (secrets are never in it).

import { useMemo, useState } from "preact/hooks";
import type { AdminAuditEvent } from "../gen";
import { useNav, withQuery } from "../router";
import { DAY } from "../spend";
import { Card, Empty, Field, LoadStatus, Page, Select, Time, timestamp, useLoad, useSession } from "../ui";

const FILTERS: [string, string, string][] = [
  ["action", "Action", "e.g. CreateKey"],
  ["kind", "Resource kind", "e.g. key"],
  ["resource", "Resource id", ""],
];

const RANGES: [string, string, number][] = [
  ["24h", "last 24 hours", DAY],
  ["7d", "last 7 days", 7 * DAY],
  ["30d", "last 30 days", 30 * DAY],
  ["all", "all time", 0],
];

/** pretty formats an event's JSON summary for reading. */
export function pretty(summary: string): string {
  try {
    return JSON.stringify(JSON.parse(summary), null, 2);
  } catch {
    return summary;
  }
}

export function AuditPage() {
  const { api } = useSession();
  const { url, navigate } = useNav();
  const q = url.searchParams;
  const f = Object.fromEntries(FILTERS.map(([k]) => [k, q.get(k) ?? ""]));
  const rangeName = RANGES.find(([r]) => r === q.get("range"))?.[0] ?? "7d";
  const set = (p: Record<string, string | undefined>) => navigate(withQuery(url, p), true);
  const [pages, setPages] = useState<string[]>([""]);
  const [open, setOpen] = useState<bigint | null>(null);
  const filterKey = JSON.stringify([f, rangeName]);
  const end = useMemo(() => new Date(), [filterKey]);
  const list = useLoad(async () => {
    const span = RANGES.find(([r]) => r === rangeName)![2];
    const out: AdminAuditEvent[] = [];
    let next = "";
    for (const pageToken of pages) {
      const r = await api.usage.listAdminAuditEvents({
        startTime: span ? timestamp(new Date(end.getTime() - span)) : undefined,
        endTime: timestamp(end),
        action: f.action,
        resourceKind: f.kind,
        resourceId: f.resource,
        pageSize: 100,
        pageToken,
      });
      out.push(...r.events);
      next = r.nextPageToken;
    }
    return { events: out, next };
  }, [filterKey, pages.length]);
  return (
    <Page title="Audit" intro="Every change made through the admin API, who made it and how it ended. Secrets are never recorded.">
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          setPages([""]);
          set(Object.fromEntries(FILTERS.map(([k]) => [k, String(data.get(k) ?? "").trim()])));
        }}
      >
        {FILTERS.map(([k, label, ph]) => (
          <Field label={label} key={k}>
            <input name={k} defaultValue={f[k]} key={f[k]} placeholder={ph} />
          </Field>
        ))}
        <Field label="Time">
          <Select value={rangeName} onChange={(v) => (setPages([""]), set({ range: v }))} options={RANGES.map(([r, l]) => [r, l])} name="range" />
        </Field>
        <button type="submit" class="primary" id="apply-filters">
          Apply
        </button>
      </form>
      <Card>
        <LoadStatus state={list} />
        {list.data?.events.length === 0 && <Empty>No events match.</Empty>}
        {list.data && list.data.events.length > 0 && (
          <div class="table-wrap">
            <table id="audit">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">
                    <span class="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.events.map((e) => (
                  <>
                    <tr key={String(e.id)} data-action={e.action} data-event-id={String(e.id)}>
                      <td>
                        <Time at={e.time} seconds />
                      </td>
                      <td>{e.actor}</td>
                      <td class="mono">{e.action}</td>
                      <td>
                        {e.resourceKind} <span class="mono">{e.resourceId}</span>
                      </td>
                      <td>
                        <span class={"pill " + (e.outcome === "ok" ? "ok" : "bad")}>{e.outcome}</span>
                      </td>
                      <td>
                        <button type="button" class="small" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                          {open === e.id ? "Hide" : "Details"}
                        </button>
                      </td>
                    </tr>
                    {open === e.id && (
                      <tr key={`${e.id}-details`}>
                        <td colSpan={6}>
                          <dl class="details">
                            <dt>Actor</dt>
                            <dd>{e.actor}</dd>
                            <dt>Request id</dt>
                            <dd class="mono">{e.requestId}</dd>
                          </dl>
                          <pre class="json">{pretty(e.summary)}</pre>
                        </td>
                      </tr>
                    )}
                  </>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.data?.next && (
          <div class="form-actions">
            <button type="button" onClick={() => setPages((p) => [...p, list.data!.next])} disabled={list.loading}>
              Load more
            </button>
          </div>
        )}
      </Card>
    </Page>
  );
}
