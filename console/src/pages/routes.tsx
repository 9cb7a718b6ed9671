// Routes: each alias with its strategy and targets, the weights editable
// with sliders, the targets' health and the live traffic split (where the
// route's recent requests actually went, from the request records).

import { useEffect, useState } from "preact/hooks";
import { listAll } from "../api";
import { canWriteCatalog } from "../caller";
import { colorOf } from "../chart";
import { RouteStrategy, type Route, type TargetHealth } from "../gen";
import { Card, Empty, LoadStatus, Page, durationMs, formatMs, styled, timestamp, useInterval, useLoad, useSession } from "../ui";
import { HealthCells } from "./providers";

const STRATEGIES: Record<number, string> = {
  [RouteStrategy.FALLBACK]: "fallback (in order)",
  [RouteStrategy.WEIGHTED]: "weighted",
  [RouteStrategy.LATENCY]: "lowest latency",
  [RouteStrategy.COST]: "lowest cost",
  [RouteStrategy.LEAST_BUSY]: "least busy",
};

const SPLIT_WINDOW_MIN = 15;

/** targetKey names a route target as the records do ("provider/model"). */
function targetKey(provider: string, model: string): string {
  return `${provider}/${model}`;
}

/** shares returns each weight's share of their sum in percent. */
export function shares(weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + Math.max(0, b), 0);
  return weights.map((w) => (sum > 0 ? (Math.max(0, w) * 100) / sum : 0));
}

export function RoutesPage() {
  const { api } = useSession();
  const routes = useLoad(() => listAll((pageToken) => api.catalog.listRoutes({ pageToken, pageSize: 1000 }), (r) => r.routes), []);
  const health = useLoad(async () => {
    const ps = await listAll((pageToken) => api.catalog.listProviders({ pageToken, pageSize: 1000 }), (r) => r.providers);
    const m = new Map<string, TargetHealth>();
    for (const p of ps) for (const t of p.targets) m.set(targetKey(p.id, t.model), t);
    return m;
  }, []);
  useInterval(health.reload, 5000);
  // A target naming a configured model (no provider) serves that model's upstream.
  const models = useLoad(async () => {
    const ms = await listAll((pageToken) => api.catalog.listAllModels({ pageToken, pageSize: 1000 }), (r) => r.models);
    return new Map(ms.map((m) => [m.name, targetKey(m.providerId, m.upstreamModel || m.name)]));
  }, []);
  return (
    <Page title="Routes" intro="A route is an alias served by several targets with retries, fallbacks and a load-balancing strategy. Changes reach every replica within a second.">
      <LoadStatus state={routes} />
      {routes.data?.length === 0 && (
        <Card>
          <Empty>No routes yet.</Empty>
        </Card>
      )}
      {routes.data?.map((r) => <RouteCard key={r.name} route={r} health={health.data} models={models.data} onSaved={routes.reload} />)}
    </Page>
  );
}

function RouteCard(props: { route: Route; health?: Map<string, TargetHealth>; models?: Map<string, string>; onSaved: () => void }) {
  const { api, caller, notify } = useSession();
  const r = props.route;
  const [weights, setWeights] = useState(r.targets.map((t) => t.weight));
  const [busy, setBusy] = useState(false);
  useEffect(() => setWeights(r.targets.map((t) => t.weight)), [r]);
  const changed = weights.some((w, i) => w !== r.targets[i].weight);
  const share = shares(weights);
  const write = canWriteCatalog(caller);
  // The live split: the route's requests of the last minutes, by the target that served.
  const split = useLoad(async () => {
    const end = new Date();
    const res = await api.usage.listRequestRecords({
      model: r.name,
      startTime: timestamp(new Date(end.getTime() - SPLIT_WINDOW_MIN * 60_000)),
      endTime: timestamp(end),
      pageSize: 1000,
    });
    const counts = new Map<string, number>();
    for (const rec of res.records) {
      if (!rec.provider) continue;
      const k = targetKey(rec.provider, rec.model);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return { counts, total: [...counts.values()].reduce((a, b) => a + b, 0) };
  }, [r.name]);
  useInterval(split.reload, 5000);

  const save = async () => {
    setBusy(true);
    try {
      await api.catalog.updateRoute({
        route: { name: r.name, targets: r.targets.map((t, i) => ({ ...t, weight: weights[i] })), etag: r.etag },
        updateMask: { paths: ["targets"] },
      });
      notify(`Saved the weights of ${r.name}`);
      props.onSaved();
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), "error");
    } finally {
      setBusy(false);
    }
  };
  const keys = r.targets.map((t) => (t.providerId ? targetKey(t.providerId, t.model) : (props.models?.get(t.model) ?? t.model)));
  return (
    <Card
      id={`route-${r.name}`}
      title={
        <>
          {r.name} <span class="pill">{STRATEGIES[r.strategy] ?? "unknown"}</span>
        </>
      }
      actions={
        write && (
          <>
            {changed && (
              <button type="button" class="small" onClick={() => setWeights(r.targets.map((t) => t.weight))} disabled={busy}>
                Reset
              </button>
            )}
            <button type="button" class="small primary" onClick={save} disabled={!changed || busy} id={`save-${r.name}`}>
              Save weights
            </button>
          </>
        )
      }
    >
      <div class="kv">
        {r.retry && <span>attempts {r.retry.maxAttempts || "one per target"}</span>}
        {r.timeout && <span>timeout {formatMs(durationMs(r.timeout))}</span>}
        {r.sticky && <span>sticky per end user</span>}
        {r.conditions.length > 0 && <span>{r.conditions.length} conditions</span>}
      </div>
      <div class="table-wrap">
        <table class="targets">
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Weight</th>
              <th scope="col" class="num">
                Share
              </th>
              <th scope="col">Breaker</th>
              <th scope="col" class="num">
                Latency (EWMA)
              </th>
              <th scope="col" class="num">
                In flight
              </th>
              <th scope="col" class="num">
                Live
              </th>
            </tr>
          </thead>
          <tbody>
            {r.targets.map((_, i) => {
              const k = keys[i];
              const live = split.data && split.data.total > 0 ? ((split.data.counts.get(k) ?? 0) * 100) / split.data.total : undefined;
              return (
                <tr key={k + i} data-target={k}>
                  <th scope="row" class="mono">
                    <span class="swatch" ref={styled({ background: colorOf(i) })} />
                    {k}
                  </th>
                  <td>
                    <input
                      type="range"
                      min={0}
                      max={100}
                      step={1}
                      value={weights[i]}
                      disabled={!write}
                      aria-label={`Weight of ${k}`}
                      aria-valuetext={`${weights[i]} (${share[i].toFixed(0)} %)`}
                      onInput={(e) => {
                        const v = Number((e.target as HTMLInputElement).value);
                        setWeights((ws) => ws.map((w, j) => (j === i ? v : w)));
                      }}
                    />{" "}
                    <input
                      type="number"
                      min={0}
                      max={1000}
                      value={weights[i]}
                      disabled={!write}
                      aria-label={`Weight of ${k} (number)`}
                      class="weight-number"
                      onInput={(e) => {
                        const v = Math.max(0, Math.floor(Number((e.target as HTMLInputElement).value) || 0));
                        setWeights((ws) => ws.map((w, j) => (j === i ? v : w)));
                      }}
                    />
                  </td>
                  <td class="num">{r.strategy === RouteStrategy.WEIGHTED ? `${share[i].toFixed(0)} %` : <span class="muted">—</span>}</td>
                  <HealthCells h={props.health?.get(k)} />
                  <td class="num live">{live === undefined ? "—" : `${live.toFixed(0)} %`}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="muted">
        Live traffic split, last {SPLIT_WINDOW_MIN} minutes
        {split.data ? ` (${split.data.total}${split.data.total >= 1000 ? "+" : ""} requests)` : ""}:
      </p>
      <div class="split" role="img" aria-label={`Traffic split of the last ${SPLIT_WINDOW_MIN} minutes: ${keys.map((k) => `${k} ${split.data?.total ? Math.round(((split.data.counts.get(k) ?? 0) * 100) / split.data.total) : 0} %`).join(", ")}`}>
        {split.data &&
          split.data.total > 0 &&
          keys.map((k, i) => (
            <span
              key={k + i}
              ref={(el) => {
                if (!el) return;
                el.style.width = `${((split.data!.counts.get(k) ?? 0) * 100) / split.data!.total}%`;
                el.style.background = colorOf(i);
              }}
            />
          ))}
      </div>
      {r.strategy !== RouteStrategy.WEIGHTED && <p class="muted">Weights apply to weighted routes; this route orders its targets by {STRATEGIES[r.strategy] ?? "its strategy"}.</p>}
    </Card>
  );
}
