// Unit tests of the Spend page's arithmetic (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { breakdown, bucketStarts, cumulative, forecastMonthEnd, rangeOf, stack, DAY, HOUR } from "../src/spend";
import { money } from "../src/money";

const group = (key: string, cost: bigint, bucket?: number) => ({
  keys: [key],
  requests: 1n,
  cost: money(cost),
  bucketStartTime: bucket === undefined ? undefined : { seconds: BigInt(bucket / 1000), nanos: 0 },
});

test("breakdown sorts by cost and gives shares of the total", () => {
  const rows = breakdown([group("chat", 31n), group("search", 42n), group("", 8n), group("batch", 19n)]);
  assert.deepEqual(rows.map((r) => [r.label, r.percent]), [["search", 42], ["chat", 31], ["batch", 19], ["(none)", 8]]);
  // A given total (tag groups may overlap) is the denominator.
  assert.equal(breakdown([group("a", 1n)], 4n)[0].percent, 25);
});

test("stack keeps the top labels and sums the rest as other", () => {
  const t0 = Date.UTC(2026, 0, 1);
  const starts = [t0, t0 + HOUR];
  const s = stack([group("a", 5n, t0), group("b", 3n, t0 + HOUR), group("c", 1n, t0), group("d", 2n, t0 + HOUR)], starts, 3);
  assert.deepEqual(s.labels, ["a", "b", "other"]);
  assert.deepEqual(s.values, [[5n, 0n], [0n, 3n], [1n, 2n]]);
  assert.deepEqual(s.xs, starts.map((t) => t / 1000));
  assert.deepEqual(cumulative([[1, 2], [3, 4]]), [[1, 2], [4, 6]]);
});

test("bucketStarts covers the range in whole UTC buckets", () => {
  const start = new Date(Date.UTC(2026, 0, 1, 0, 30));
  const end = new Date(Date.UTC(2026, 0, 1, 3, 10));
  assert.deepEqual(bucketStarts({ start, end }, "hour"), [0, 1, 2, 3].map((h) => Date.UTC(2026, 0, 1, h)));
  assert.deepEqual(bucketStarts({ start, end }, "day"), [Date.UTC(2026, 0, 1)]);
});

test("rangeOf names ranges ending now and refuses a backwards custom range", () => {
  const now = new Date(Date.UTC(2026, 5, 11, 12));
  assert.equal(rangeOf("7d", now).start.getTime(), now.getTime() - 7 * DAY);
  const c = rangeOf("custom", now, { from: "2026-06-01", to: "2026-06-02" });
  assert.deepEqual([c.start.toISOString(), c.end.toISOString()], ["2026-06-01T00:00:00.000Z", "2026-06-03T00:00:00.000Z"]);
  assert.throws(() => rangeOf("custom", now, { from: "2026-06-05", to: "2026-06-01" }));
});

test("forecastMonthEnd projects the recent rate over the rest of the month", () => {
  // 10 days into a 30-day month (June), $10 so far, $7 over the last 7 days: $1/day for 20 days.
  const now = new Date(Date.UTC(2026, 5, 11));
  const d = 1_000_000_000n;
  assert.equal(forecastMonthEnd(10n * d, 7n * d, 7 * DAY, now), 30n * d);
  // Two days in: the month-to-date rate ($1/day) is the rate.
  assert.equal(forecastMonthEnd(2n * d, 2n * d, 7 * DAY, new Date(Date.UTC(2026, 5, 3))), 30n * d);
});
