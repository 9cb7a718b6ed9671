// Pure computations behind the Spend page: time ranges and buckets,
// stacking of grouped usage into chart series, the sorted breakdown, the
// month-to-date figures and the month-end forecast. Everything is in UTC,
// like the gateway's usage buckets.

import { nanos, percent, type MoneyLike } from "./money";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A range the Spend page can show. */
export type RangeName = "24h" | "7d" | "30d" | "custom";

/** Granularity of the chart's buckets. */
export type Granularity = "hour" | "day";

/** A time range [start, end). */
export interface Range {
  start: Date;
  end: Date;
}

/**
 * rangeOf returns the range named by name ending at now; "custom" takes
 * the dates given (start at its UTC midnight, end at the end of its day).
 */
export function rangeOf(name: RangeName, now: Date, custom?: { from: string; to: string }): Range {
  switch (name) {
    case "24h":
      return { start: new Date(now.getTime() - DAY), end: now };
    case "7d":
      return { start: new Date(now.getTime() - 7 * DAY), end: now };
    case "30d":
      return { start: new Date(now.getTime() - 30 * DAY), end: now };
    case "custom": {
      const from = custom?.from ? new Date(custom.from + "T00:00:00Z") : new Date(now.getTime() - 7 * DAY);
      const to = custom?.to ? new Date(new Date(custom.to + "T00:00:00Z").getTime() + DAY) : now;
      if (isNaN(from.getTime()) || isNaN(to.getTime()) || to <= from) throw new Error("the custom range needs a start date before its end date");
      return { start: from, end: to };
    }
  }
}

/** defaultGranularity is hourly up to two days, daily beyond. */
export function defaultGranularity(r: Range): Granularity {
  return r.end.getTime() - r.start.getTime() <= 2 * DAY ? "hour" : "day";
}

/** bucketStarts lists the UTC bucket starts (ms) that cover r. */
export function bucketStarts(r: Range, g: Granularity): number[] {
  const step = g === "hour" ? HOUR : DAY;
  const first = Math.floor(r.start.getTime() / step) * step;
  const out: number[] = [];
  for (let t = first; t < r.end.getTime(); t += step) out.push(t);
  return out;
}

/** The part of a usage group the console reads. */
export interface GroupLike {
  keys: string[];
  requests: bigint;
  errors?: bigint;
  cost?: MoneyLike;
  saved?: MoneyLike;
  cacheHits?: bigint;
  usage?: { inputTokens: bigint; outputTokens: bigint; totalTokens: bigint };
  bucketStartTime?: { seconds: bigint; nanos: number };
}

/** A row of the breakdown table. */
export interface BreakdownRow {
  label: string;
  cost: bigint;
  percent: number;
  requests: bigint;
  errors: bigint;
  tokens: bigint;
  cacheHits: bigint;
  saved: bigint;
}

/** The label of a group value; empty values read "(none)". */
export function groupLabel(v: string | undefined): string {
  return v ? v : "(none)";
}

/**
 * breakdown returns one row per group, most expensive first (ties by
 * label), with its share of the total cost. The total is the sum of the
 * groups unless given (tag groups may count a record more than once, so
 * the caller passes the summary's total then).
 */
export function breakdown(groups: GroupLike[], total?: bigint): BreakdownRow[] {
  const rows = groups.map((g) => ({
    label: groupLabel(g.keys[0]),
    cost: nanos(g.cost),
    percent: 0,
    requests: g.requests,
    errors: g.errors ?? 0n,
    tokens: g.usage?.totalTokens ?? 0n,
    cacheHits: g.cacheHits ?? 0n,
    saved: nanos(g.saved),
  }));
  const sum = total ?? rows.reduce((s, r) => s + r.cost, 0n);
  for (const r of rows) r.percent = percent(r.cost, sum);
  rows.sort((a, b) => (a.cost === b.cost ? a.label.localeCompare(b.label) : a.cost > b.cost ? -1 : 1));
  return rows;
}

/** Stacked chart data: x in seconds, one series of dollars per label. */
export interface Stacked {
  xs: number[];
  labels: string[];
  /** values[i][j]: label i in bucket j, in nano-dollars. */
  values: bigint[][];
}

/**
 * stack arranges bucketed groups into chart series: the top `top` labels
 * by total cost over the range, the rest summed as "other"; buckets
 * without usage are zero.
 */
export function stack(groups: GroupLike[], starts: number[], top = 8): Stacked {
  const index = new Map(starts.map((t, i) => [t, i]));
  const totals = new Map<string, bigint>();
  for (const g of groups) {
    const l = groupLabel(g.keys[0]);
    totals.set(l, (totals.get(l) ?? 0n) + nanos(g.cost));
  }
  const ranked = [...totals.entries()].sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1] > b[1] ? -1 : 1)).map(([l]) => l);
  const labels = ranked.length > top ? [...ranked.slice(0, top - 1), "other"] : ranked;
  const row = new Map(labels.map((l, i) => [l, i]));
  const values = labels.map(() => starts.map(() => 0n));
  for (const g of groups) {
    if (!g.bucketStartTime) continue;
    const j = index.get(Number(g.bucketStartTime.seconds) * 1000);
    if (j === undefined) continue;
    const i = row.get(groupLabel(g.keys[0])) ?? row.get("other");
    if (i === undefined) continue;
    values[i][j] += nanos(g.cost);
  }
  return { xs: starts.map((t) => t / 1000), labels, values };
}

/** cumulative turns stacked values into running sums from the first series up (for drawing). */
export function cumulative(values: number[][]): number[][] {
  const out: number[][] = [];
  values.forEach((v, i) => out.push(v.map((x, j) => x + (i > 0 ? out[i - 1][j] : 0))));
  return out;
}

/** monthStart returns the start of d's month (UTC); offset moves by months. */
export function monthStart(d: Date, offset = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
}

/**
 * forecastMonthEnd estimates the month's total spend at the current
 * rate: month-to-date plus the rate of the trailing window (recent spend
 * over recentMs) times the time left in the month. When the month is
 * younger than the window, the month-to-date rate is the rate.
 */
export function forecastMonthEnd(mtd: bigint, recent: bigint, recentMs: number, now: Date): bigint {
  const start = monthStart(now).getTime();
  const end = monthStart(now, 1).getTime();
  const elapsed = now.getTime() - start;
  const left = BigInt(Math.max(0, end - now.getTime()));
  if (elapsed <= 0) return mtd;
  if (elapsed < recentMs) return mtd + (mtd * left) / BigInt(elapsed);
  return mtd + (recent * left) / BigInt(Math.max(1, recentMs));
}
