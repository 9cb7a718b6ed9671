// Spend: where the money goes. Spend over time stacked by a dimension, the
// breakdown with shares, month to date against last month, a month-end
// forecast at the current rate, and what the cache saved; the current
// view exports as CSV.

import { useContext, useMemo } from "preact/hooks";
import { toCSV, download } from "../csv";
import { teamScope } from "../caller";
import { TimeChart, colorOf } from "../chart";
import { UsageBucket, UsageDimension } from "../gen";
import { dollars, formatPercent, formatUSD, inputUSD, nanos, percent } from "../money";
import { useNav, withQuery } from "../router";
import {
  breakdown,
  bucketStarts,
  DAY,
  defaultGranularity,
  forecastMonthEnd,
  monthStart,
  rangeOf,
  stack,
  type Granularity,
  type RangeName,
} from "../spend";
import { ThemeContext } from "../theme";
import { Card, Empty, Field, LoadStatus, Page, Select, formatInt, styled, timestamp, useLoad, useSession } from "../ui";

/** The dimensions spend can be stacked by. */
export const DIMENSIONS: [string, string, UsageDimension][] = [
  ["team", "Team", UsageDimension.TEAM],
  ["service", "Service", UsageDimension.SERVICE],
  ["model", "Model", UsageDimension.MODEL],
  ["provider", "Provider", UsageDimension.PROVIDER],
  ["tag", "Tag", UsageDimension.TAG],
  ["key", "Key", UsageDimension.KEY],
];

const RANGES: [RangeName, string][] = [
  ["24h", "24 hours"],
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["custom", "Custom"],
];

export function SpendPage() {
  const { api, caller } = useSession();
  const { url, navigate } = useNav();
  const { theme } = useContext(ThemeContext);
  const q = url.searchParams;
  const rangeName = (RANGES.find(([r]) => r === q.get("range"))?.[0] ?? "7d") as RangeName;
  const by = DIMENSIONS.find(([d]) => d === q.get("by")) ?? DIMENSIONS[0];
  const from = q.get("from") ?? "";
  const to = q.get("to") ?? "";
  const scope = teamScope(caller);
  const team = scope ? (scope.includes(q.get("team") ?? "") ? q.get("team")! : (scope[0] ?? "")) : (q.get("team") ?? "");
  // The range is computed once per view, so reloads of one view agree.
  const view = useMemo(() => {
    try {
      const now = new Date();
      const range = rangeOf(rangeName, now, { from, to });
      const gran = (q.get("gran") === "hour" || q.get("gran") === "day" ? q.get("gran") : defaultGranularity(range)) as Granularity;
      return { now, range, gran, error: undefined };
    } catch (e) {
      return { now: new Date(), range: rangeOf("7d", new Date()), gran: "day" as Granularity, error: e };
    }
  }, [rangeName, from, to, q.get("gran")]);
  const set = (p: Record<string, string | undefined>) => navigate(withQuery(url, p), true);

  const range = { startTime: timestamp(view.range.start), endTime: timestamp(view.range.end), teamId: team };
  const series = useLoad(
    () => api.usage.getUsageSummary({ ...range, groupBy: [by[2]], bucket: view.gran === "hour" ? UsageBucket.HOUR : UsageBucket.DAY }),
    [by[0], view, team],
  );
  const totals = useLoad(() => api.usage.getUsageSummary({ ...range, groupBy: [by[2]] }), [by[0], view, team]);
  const month = useLoad(async () => {
    const now = view.now;
    const [mtd, last, recent] = await Promise.all([
      api.usage.getUsageSummary({ startTime: timestamp(monthStart(now)), endTime: timestamp(now), teamId: team }),
      api.usage.getUsageSummary({ startTime: timestamp(monthStart(now, -1)), endTime: timestamp(monthStart(now)), teamId: team }),
      api.usage.getUsageSummary({ startTime: timestamp(new Date(now.getTime() - 7 * DAY)), endTime: timestamp(now), teamId: team }),
    ]);
    const m = nanos(mtd.total?.cost);
    return { mtd: m, last: nanos(last.total?.cost), forecast: forecastMonthEnd(m, nanos(recent.total?.cost), 7 * DAY, now) };
  }, [view, team]);

  const rows = useMemo(() => (totals.data ? breakdown(totals.data.groups, nanos(totals.data.total?.cost)) : []), [totals.data]);
  const stacked = useMemo(() => (series.data ? stack(series.data.groups, bucketStarts(view.range, view.gran)) : undefined), [series.data, view]);
  const chartSeries = useMemo(() => stacked?.labels.map((label, i) => ({ label, values: stacked.values[i].map(dollars) })) ?? [], [stacked]);
  const colors = new Map(stacked?.labels.map((l, i) => [l, colorOf(i, l)]));
  const total = totals.data?.total;
  const totalCost = nanos(total?.cost);

  const exportCSV = () => {
    if (!series.data) return;
    const header = ["bucket_start_utc", by[0], "cost_usd", "requests", "errors", "input_tokens", "output_tokens", "cache_hits", "saved_usd"];
    const lines = series.data.groups.map((g) => [
      g.bucketStartTime ? new Date(Number(g.bucketStartTime.seconds) * 1000).toISOString() : "",
      g.keys[0] ?? "",
      inputUSD(nanos(g.cost)),
      g.requests,
      g.errors,
      g.usage?.inputTokens ?? 0n,
      g.usage?.outputTokens ?? 0n,
      g.cacheHits,
      inputUSD(nanos(g.saved)),
    ]);
    const stamp = (d: Date) => d.toISOString().slice(0, 16).replace(":", "");
    download(`tollgate-spend-by-${by[0]}-${stamp(view.range.start)}-${stamp(view.range.end)}.csv`, toCSV([header, ...lines]));
  };

  const delta = month.data && month.data.last > 0n ? percent(month.data.mtd - month.data.last, month.data.last) : undefined;
  return (
    <Page
      title="Spend"
      actions={
        <button type="button" onClick={exportCSV} disabled={!series.data} id="export-csv">
          Export CSV
        </button>
      }
    >
      <div class="filters" role="group" aria-label="What to show">
        <div class="field">
          <span class="label" id="range-label">
            Range
          </span>
          <div class="segmented" role="group" aria-labelledby="range-label">
            {RANGES.map(([r, label]) => (
              <button type="button" key={r} aria-pressed={r === rangeName} onClick={() => set({ range: r === "7d" ? undefined : r, gran: undefined })}>
                {label}
              </button>
            ))}
          </div>
        </div>
        {rangeName === "custom" && (
          <>
            <Field label="From">
              <input type="date" value={from} onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
            </Field>
            <Field label="To">
              <input type="date" value={to} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
            </Field>
          </>
        )}
        <Field label="Stack by">
          <Select value={by[0]} onChange={(v) => set({ by: v === "team" ? undefined : v })} options={DIMENSIONS.map(([d, l]) => [d, l])} name="by" />
        </Field>
        <Field label="Buckets">
          <Select value={view.gran} onChange={(v) => set({ gran: v })} options={[["hour", "Hourly"], ["day", "Daily"]]} name="gran" />
        </Field>
        {scope === null ? (
          <Field label="Team">
            <input type="text" placeholder="all teams" value={team} onChange={(e) => set({ team: (e.target as HTMLInputElement).value.trim() })} name="team" />
          </Field>
        ) : (
          scope.length > 1 && (
            <Field label="Team">
              <Select value={team} onChange={(v) => set({ team: v })} options={scope} name="team" />
            </Field>
          )
        )}
      </div>
      {view.error !== undefined && <LoadStatus state={{ error: view.error, loading: false }} />}

      <div class="stats">
        <div class="stat" id="stat-range">
          <div class="name">Spend, {rangeName === "custom" ? "custom range" : RANGES.find(([r]) => r === rangeName)![1].replace(/^/, "last ")}</div>
          <div class="value">{total ? formatUSD(totalCost) : "…"}</div>
          <div class="sub">{total ? `${formatInt(total.requests)} requests, ${formatInt(total.usage?.totalTokens ?? 0n)} tokens` : ""}</div>
        </div>
        <div class="stat" id="stat-mtd">
          <div class="name">Month to date</div>
          <div class="value">{month.data ? formatUSD(month.data.mtd) : "…"}</div>
          <div class="sub">
            {month.data ? `last month ${formatUSD(month.data.last)}` : ""}
            {delta !== undefined && ` (${delta >= 0 ? "+" : ""}${formatPercent(delta)})`}
          </div>
        </div>
        <div class="stat" id="stat-forecast">
          <div class="name">Month-end forecast</div>
          <div class="value">{month.data ? formatUSD(month.data.forecast) : "…"}</div>
          <div class="sub">at the last 7 days' rate</div>
        </div>
        <div class="stat" id="stat-saved">
          <div class="name">Saved by the cache</div>
          <div class="value">{total ? formatUSD(nanos(total.saved)) : "…"}</div>
          <div class="sub">{total && total.requests > 0n ? `${formatPercent(percent(total.cacheHits, total.requests))} of requests were hits` : ""}</div>
        </div>
      </div>
      <LoadStatus state={month} />

      <Card title={`Spend over time by ${by[1].toLowerCase()}`}>
        <LoadStatus state={series} />
        {stacked && stacked.labels.length === 0 && <Empty>No spend in this range.</Empty>}
        {stacked && stacked.labels.length > 0 && (
          <TimeChart
            xs={stacked.xs}
            series={chartSeries}
            stacked
            theme={theme}
            hourly={view.gran === "hour"}
            yFormat={(v) => (v >= 1 ? `$${v.toFixed(v >= 100 ? 0 : 2)}` : v === 0 ? "$0" : `$${v.toPrecision(2)}`)}
            description={`Stacked ${view.gran === "hour" ? "hourly" : "daily"} spend by ${by[1].toLowerCase()}: ${rows
              .slice(0, 5)
              .map((r) => `${r.label} ${formatUSD(r.cost)}`)
              .join(", ")}`}
          />
        )}
      </Card>

      <Card title={`Breakdown by ${by[1].toLowerCase()}`}>
        <LoadStatus state={totals} />
        {totals.data && rows.length === 0 && <Empty>No spend in this range.</Empty>}
        {rows.length > 0 && (
          <div class="table-wrap">
            <table id="breakdown" aria-describedby="breakdown-caption">
              <caption id="breakdown-caption" class="visually-hidden">
                Spend by {by[1].toLowerCase()}, most expensive first, with each one's share of the total
              </caption>
              <thead>
                <tr>
                  <th scope="col">{by[1]}</th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num">
                    Share
                  </th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Errors
                  </th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    Cache hits
                  </th>
                  <th scope="col" class="num">
                    Saved
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.label} data-label={r.label} data-percent={r.percent.toFixed(2)} data-cost-nanos={r.cost.toString()}>
                    <th scope="row">
                      <span class="swatch" ref={styled({ background: colors.get(r.label) ?? colors.get("other") ?? "transparent" })} />
                      {r.label}
                    </th>
                    <td class="num">{formatUSD(r.cost)}</td>
                    <td class="num share-cell">
                      {formatPercent(r.percent)}
                      <span class="share" aria-hidden="true">
                        <span ref={styled({ width: `${Math.min(100, r.percent)}%` })} />
                      </span>
                    </td>
                    <td class="num">{formatInt(r.requests)}</td>
                    <td class="num">{formatInt(r.errors)}</td>
                    <td class="num">{formatInt(r.tokens)}</td>
                    <td class="num">{formatInt(r.cacheHits)}</td>
                    <td class="num">{formatUSD(r.saved)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  <td class="num">{formatUSD(totalCost)}</td>
                  <td class="num">{by[0] === "tag" ? "" : "100.0 %"}</td>
                  <td class="num">{formatInt(total?.requests ?? 0n)}</td>
                  <td class="num">{formatInt(total?.errors ?? 0n)}</td>
                  <td class="num">{formatInt(total?.usage?.totalTokens ?? 0n)}</td>
                  <td class="num">{formatInt(total?.cacheHits ?? 0n)}</td>
                  <td class="num">{formatUSD(nanos(total?.saved))}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        )}
        {by[0] === "tag" && rows.length > 0 && <p class="muted">A request with several tags counts once under each, so shares can add up to more than 100 %.</p>}
      </Card>
    </Page>
  );
}
