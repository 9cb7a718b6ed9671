// Requests: the request log with filters, newest first, and one request's
// details: tokens, cost, latency, time to first token, attempts, the cache
// and guardrail outcomes. Records hold no prompt or answer text.

import { useMemo, useState } from "preact/hooks";
import { RequestStatus, type RequestRecord } from "../gen";
import { formatUSD, nanos } from "../money";
import { useNav, withQuery } from "../router";
import { DAY, HOUR } from "../spend";
import { Card, Dialog, Empty, Field, LoadStatus, Page, Select, Time, durationMs, formatInt, formatMs, timestamp, useLoad, useSession } from "../ui";
import { verdictText } from "./guardrails";

export const STATUSES: [RequestStatus, string, "ok" | "warn" | "bad"][] = [
  [RequestStatus.OK, "ok", "ok"],
  [RequestStatus.UPSTREAM_ERROR, "upstream error", "bad"],
  [RequestStatus.UNAUTHENTICATED, "unauthenticated", "warn"],
  [RequestStatus.FORBIDDEN, "forbidden", "warn"],
  [RequestStatus.INVALID, "invalid", "warn"],
  [RequestStatus.LIMITED, "limited", "warn"],
  [RequestStatus.CANCELED, "canceled", "warn"],
  [RequestStatus.INTERNAL_ERROR, "internal error", "bad"],
];

function statusOf(s: RequestStatus): [string, string] {
  const e = STATUSES.find(([v]) => v === s);
  return e ? [e[1], e[2]] : ["unknown", ""];
}

const RANGES: [string, string, number][] = [
  ["1h", "last hour", HOUR],
  ["24h", "last 24 hours", DAY],
  ["7d", "last 7 days", 7 * DAY],
  ["30d", "last 30 days", 30 * DAY],
];

const FILTERS: [string, string][] = [
  ["team", "Team"],
  ["service", "Service"],
  ["key", "Key id"],
  ["model", "Model"],
  ["user", "End user"],
  ["tag", "Tag"],
];

export function RequestsPage() {
  const { api } = useSession();
  const { url, navigate } = useNav();
  const q = url.searchParams;
  const f = Object.fromEntries(FILTERS.map(([k]) => [k, q.get(k) ?? ""]));
  const status = q.get("status") ?? "";
  const rangeName = RANGES.find(([r]) => r === q.get("range"))?.[0] ?? "24h";
  const id = q.get("id") ?? "";
  const set = (p: Record<string, string | undefined>) => navigate(withQuery(url, p), true);
  const [pages, setPages] = useState<string[]>([""]);
  const filterKey = JSON.stringify([f, status, rangeName]);
  const end = useMemo(() => new Date(), [filterKey]);
  const request = (pageToken: string) =>
    api.usage.listRequestRecords({
      startTime: timestamp(new Date(end.getTime() - RANGES.find(([r]) => r === rangeName)![2])),
      endTime: timestamp(end),
      teamId: f.team,
      serviceId: f.service,
      keyId: f.key,
      model: f.model,
      endUser: f.user,
      tag: f.tag,
      status: status ? (Number(status) as RequestStatus) : RequestStatus.UNSPECIFIED,
      pageSize: 100,
      pageToken,
    });
  const list = useLoad(async () => {
    const out: RequestRecord[] = [];
    let next = "";
    for (const tok of pages) {
      const r = await request(tok);
      out.push(...r.records);
      next = r.nextPageToken;
    }
    return { records: out, next };
  }, [filterKey, pages.length]);
  const detail = useLoad(async () => {
    if (!id) return undefined;
    const hit = list.data?.records.find((r) => r.requestId === id);
    if (hit) return hit;
    const now = new Date();
    const r = await api.usage.listRequestRecords({ requestId: id, startTime: timestamp(new Date(now.getTime() - 90 * DAY)), endTime: timestamp(now), pageSize: 1 });
    return r.records[0] ?? null;
  }, [id]);

  return (
    <Page title="Requests" intro="Every request through the gateway, newest first. Records carry what happened and what it cost, never the prompt or the answer.">
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          setPages([""]);
          set(Object.fromEntries([...FILTERS.map(([k]) => [k, String(data.get(k) ?? "").trim()]), ["status", String(data.get("status") ?? "")], ["range", String(data.get("range") ?? "")]]));
        }}
      >
        {FILTERS.map(([k, label]) => (
          <Field label={label} key={k}>
            <input name={k} defaultValue={f[k]} key={f[k]} />
          </Field>
        ))}
        <Field label="Status">
          <select name="status" defaultValue={status} key={status}>
            <option value="">any</option>
            {STATUSES.map(([v, l]) => (
              <option value={String(v)} key={v}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Time">
          <Select value={rangeName} onChange={(v) => (setPages([""]), set({ range: v }))} options={RANGES.map(([r, l]) => [r, l])} name="range" />
        </Field>
        <button type="submit" class="primary" id="apply-filters">
          Apply
        </button>
      </form>
      <Card>
        <LoadStatus state={list} />
        {list.data?.records.length === 0 && <Empty>No requests match.</Empty>}
        {list.data && list.data.records.length > 0 && (
          <div class="table-wrap">
            <table id="requests">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Team / service</th>
                  <th scope="col">Model</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num">
                    Latency
                  </th>
                  <th scope="col">Cache</th>
                </tr>
              </thead>
              <tbody>
                {list.data.records.map((r) => {
                  const [s, tone] = statusOf(r.status);
                  return (
                    <tr key={r.requestId} class={"clickable" + (r.requestId === id ? " selected" : "")} data-request-id={r.requestId} onClick={() => set({ id: r.requestId })}>
                      <td>
                        <a
                          href={"?" + new URLSearchParams({ ...Object.fromEntries(q), id: r.requestId })}
                          onClick={(e) => {
                            e.preventDefault();
                            e.stopPropagation();
                            set({ id: r.requestId });
                          }}
                        >
                          <Time at={r.time} seconds />
                        </a>
                      </td>
                      <td>
                        {r.teamId || <span class="muted">—</span>}
                        {r.serviceId && <span class="muted"> / {r.serviceId}</span>}
                      </td>
                      <td>{r.requestedModel}</td>
                      <td>
                        <span class={"pill " + tone}>{s}</span>
                      </td>
                      <td class="num">{formatInt(r.usage?.totalTokens ?? 0n)}</td>
                      <td class="num">{formatUSD(nanos(r.cost))}</td>
                      <td class="num">{formatMs(durationMs(r.latency))}</td>
                      <td>{r.cacheStatus || <span class="muted">—</span>}</td>
                    </tr>
                  );
                })}
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
      <Dialog open={id !== ""} title="Request" onClose={() => set({ id: undefined })} wide>
        <LoadStatus state={detail} />
        {detail.data === null && <Empty>No record of request {id} in the last 90 days.</Empty>}
        {detail.data && <RequestDetail r={detail.data} />}
      </Dialog>
    </Page>
  );
}

function RequestDetail(props: { r: RequestRecord }) {
  const r = props.r;
  const [s, tone] = statusOf(r.status);
  const u = r.usage;
  return (
    <dl class="details" id="request-detail">
      <dt>Request id</dt>
      <dd class="mono">{r.requestId}</dd>
      <dt>Time</dt>
      <dd>
        <Time at={r.time} seconds />
      </dd>
      <dt>Status</dt>
      <dd>
        <span class={"pill " + tone}>{s}</span> {r.errorCode && <span class="mono">{r.errorCode}</span>}
        {r.partial && <span class="pill warn">partial stream</span>}
      </dd>
      <dt>Caller</dt>
      <dd>
        team <b>{r.teamId || "—"}</b>
        {r.serviceId && (
          <>
            , service <b>{r.serviceId}</b>
          </>
        )}
        , key <span class="mono">{r.keyId || "—"}</span>
        {r.endUser && (
          <>
            , end user <b>{r.endUser}</b>
          </>
        )}
      </dd>
      {r.tags.length > 0 && (
        <>
          <dt>Tags</dt>
          <dd class="tags">
            {r.tags.map((t) => (
              <span class="pill" key={t}>
                {t}
              </span>
            ))}
          </dd>
        </>
      )}
      <dt>API</dt>
      <dd>
        {r.surface} {r.operation}
        {r.stream ? ", streamed" : ""}
      </dd>
      <dt>Model</dt>
      <dd>
        asked for <b>{r.requestedModel}</b>
        {r.provider && (
          <>
            , served by <span class="mono">{r.provider}/{r.model}</span>
          </>
        )}
      </dd>
      <dt>Tokens</dt>
      <dd>
        {formatInt(u?.inputTokens ?? 0n)} in ({formatInt(u?.cachedInputTokens ?? 0n)} cached), {formatInt(u?.outputTokens ?? 0n)} out
        {u?.reasoningTokens ? ` (${formatInt(u.reasoningTokens)} reasoning)` : ""}
        {u?.estimated ? " — estimated" : ""}
      </dd>
      <dt>Cost</dt>
      <dd id="detail-cost">{formatUSD(nanos(r.cost))}</dd>
      <dt>Latency</dt>
      <dd>{formatMs(durationMs(r.latency))}</dd>
      <dt>Time to first token</dt>
      <dd>{formatMs(durationMs(r.timeToFirstToken))}</dd>
      <dt>Attempts</dt>
      <dd>{r.attempts}</dd>
      <dt>Cache</dt>
      <dd>
        {r.cacheStatus || "no lookup"}
        {nanos(r.saved) > 0n && `, saved ${formatUSD(nanos(r.saved))}`}
      </dd>
      <dt>Guardrails</dt>
      <dd>
        {r.guardrailVerdicts.length === 0 ? (
          <span class="muted">no verdict</span>
        ) : (
          <div class="tags">
            {r.guardrailVerdicts.map((v, i) => (
              <span class="pill" key={i}>
                {verdictText(v)}
              </span>
            ))}
          </div>
        )}
      </dd>
    </dl>
  );
}
