// Cache: the response cache's hit rate and savings over time, its size,
// and purging entries by namespace, model and age.

import { useContext, useMemo, useState } from "preact/hooks";
import { canWriteCatalog } from "../caller";
import { TimeChart } from "../chart";
import { CacheMode, UsageBucket } from "../gen";
import { dollars, formatPercent, formatUSD, nanos, percent } from "../money";
import { DAY, bucketStarts } from "../spend";
import { ThemeContext } from "../theme";
import { Card, Dialog, Field, Form, LoadStatus, Page, Select, durationMs, formatInt, formatMs, timestamp, useLoad, useSession } from "../ui";

const MODES: Record<number, string> = {
  [CacheMode.UNSPECIFIED]: "off",
  [CacheMode.OFF]: "off",
  [CacheMode.EXACT]: "exact",
  [CacheMode.SEMANTIC]: "semantic",
};

function bytes(n: bigint): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 ** 2) return `${(v / 1024).toFixed(1)} KiB`;
  if (v < 1024 ** 3) return `${(v / 1024 ** 2).toFixed(1)} MiB`;
  return `${(v / 1024 ** 3).toFixed(2)} GiB`;
}

export function CachePage() {
  const { api, caller } = useSession();
  const { theme } = useContext(ThemeContext);
  const [purging, setPurging] = useState(false);
  const stats = useLoad(() => api.policy.getCacheStats({}), []);
  const range = useMemo(() => ({ start: new Date(Date.now() - 7 * DAY), end: new Date() }), []);
  const usage = useLoad(
    () => api.usage.getUsageSummary({ startTime: timestamp(range.start), endTime: timestamp(range.end), bucket: UsageBucket.DAY }),
    [range],
  );
  const chart = useMemo(() => {
    if (!usage.data) return undefined;
    const starts = bucketStarts(range, "day");
    const saved = starts.map(() => 0);
    const rate = starts.map(() => 0);
    usage.data.groups.forEach((g) => {
      const j = starts.indexOf(Number(g.bucketStartTime?.seconds ?? 0n) * 1000);
      if (j < 0) return;
      saved[j] += dollars(nanos(g.saved));
      rate[j] = g.requests > 0n ? percent(g.cacheHits, g.requests) : 0;
    });
    return { xs: starts.map((t) => t / 1000), saved, rate };
  }, [usage.data, range]);
  const s = stats.data;
  const lookups = s ? s.hitsExact + s.hitsSemantic + s.misses : 0n;
  const total = usage.data?.total;
  return (
    <Page
      title="Cache"
      intro="The response cache answers repeated (exact) and similar (semantic) questions without calling the provider. Counters are the answering replica's since it started; entries and savings cover all replicas."
      actions={
        canWriteCatalog(caller) && (
          <button type="button" class="danger" onClick={() => setPurging(true)} id="purge">
            Purge…
          </button>
        )
      }
    >
      <LoadStatus state={stats} />
      <div class="stats">
        <div class="stat">
          <div class="name">Hit rate, 7 days</div>
          <div class="value">{total ? formatPercent(total.requests > 0n ? percent(total.cacheHits, total.requests) : 0) : "…"}</div>
          <div class="sub">{total ? `${formatInt(total.cacheHits)} of ${formatInt(total.requests)} requests` : ""}</div>
        </div>
        <div class="stat">
          <div class="name">Saved, 7 days</div>
          <div class="value">{total ? formatUSD(nanos(total.saved)) : "…"}</div>
        </div>
        <div class="stat">
          <div class="name">Entries</div>
          <div class="value">{s ? formatInt(s.entries) : "…"}</div>
          <div class="sub">{s ? `${bytes(s.bytes)}; ${formatInt(s.localEntries)} in this replica's memory` : ""}</div>
        </div>
        <div class="stat">
          <div class="name">This replica</div>
          <div class="value">{s ? formatPercent(lookups > 0n ? percent(s.hitsExact + s.hitsSemantic, lookups) : 0) : "…"}</div>
          <div class="sub">{s ? `${formatInt(s.hitsExact)} exact, ${formatInt(s.hitsSemantic)} semantic, ${formatInt(s.misses)} misses` : ""}</div>
        </div>
      </div>
      {chart && (
        <div class="grid">
          <Card title="Saved per day">
            <TimeChart xs={chart.xs} series={[{ label: "saved", values: chart.saved }]} theme={theme} yFormat={(v) => (v >= 1 ? `$${v.toFixed(2)}` : `$${v.toPrecision(2)}`)} description="Money the cache saved per day over the last 7 days" height={200} />
          </Card>
          <Card title="Hit rate per day">
            <TimeChart xs={chart.xs} series={[{ label: "hit rate", values: chart.rate }]} theme={theme} yFormat={(v) => `${v.toFixed(0)} %`} description="Share of requests answered from the cache per day over the last 7 days" height={200} />
          </Card>
        </div>
      )}
      {s && (
        <Card title="Settings">
          <dl class="details">
            <dt>Default mode</dt>
            <dd>{MODES[s.defaultMode]}</dd>
            <dt>Default lifetime</dt>
            <dd>{formatMs(durationMs(s.defaultTtl))}</dd>
            <dt>Embedding model</dt>
            <dd>{s.embeddingModel || <span class="muted">none (semantic lookups off)</span>}</dd>
            <dt>Writes</dt>
            <dd>
              {formatInt(s.writes)} stored, {formatInt(s.writeErrors)} failed, {formatInt(s.dropped)} dropped; {formatInt(s.lookupErrors)} lookup errors, {formatInt(s.bypasses)} bypasses
            </dd>
          </dl>
        </Card>
      )}
      <Dialog open={purging} title="Purge cache entries" onClose={() => setPurging(false)}>
        {purging && (
          <Purge
            onDone={() => {
              setPurging(false);
              stats.reload();
            }}
          />
        )}
      </Dialog>
    </Page>
  );
}

function Purge(props: { onDone: () => void }) {
  const { api, notify } = useSession();
  const [kind, setKind] = useState("all");
  const [value, setValue] = useState("");
  const [model, setModel] = useState("");
  const [older, setOlder] = useState("");
  return (
    <Form
      submit="Purge"
      danger
      cancel={props.onDone}
      onSubmit={async () => {
        const v = value.trim();
        const r = await api.policy.purgeCache({
          scope: kind === "team" ? { teamId: v } : kind === "key" ? { keyId: v } : kind === "shared" ? { shared: v } : undefined,
          model: model.trim(),
          olderThan: older ? timestamp(new Date(older)) : undefined,
        });
        notify(`Purged ${r.deleted} entries`);
        props.onDone();
      }}
    >
      <Field label="Namespace">
        <Select value={kind} onChange={setKind} options={[["all", "every namespace"], ["team", "a team's"], ["key", "a key's"], ["shared", "a shared one"]]} name="kind" />
      </Field>
      {kind !== "all" && (
        <Field label={kind === "team" ? "Team" : kind === "key" ? "Key id" : "Shared namespace"}>
          <input name="value" value={value} required onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </Field>
      )}
      <Field label="Model" hint="The upstream model, or the route name; empty for all">
        <input name="model" value={model} onInput={(e) => setModel((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label="Created before" hint="Empty for all ages">
        <input name="older" type="datetime-local" value={older} onInput={(e) => setOlder((e.target as HTMLInputElement).value)} />
      </Field>
    </Form>
  );
}
