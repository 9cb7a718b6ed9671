// Unit tests of the console's money arithmetic and formatting (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatUSD, inputUSD, money, nanos, parseUSD, percent } from "../src/money";

test("formatUSD keeps small costs readable and rounds cents half up", () => {
  const cases: [bigint, string][] = [
    [0n, "$0.00"],
    [1_234_560_000_000n, "$1,234.56"],
    [1_234_565_000_000n, "$1,234.57"],
    [12_345_678n, "$0.01235"],
    [42_000n, "$0.000042"],
    [999_999_999n, "$1.00"],
    [-2_500_000_000n, "-$2.50"],
    [100_000_000n, "$0.10"],
  ];
  for (const [n, want] of cases) assert.equal(formatUSD(n), want, `formatUSD(${n})`);
});

test("percent is exact to two decimals, rounded half up", () => {
  assert.equal(percent(1n, 3n), 33.33);
  assert.equal(percent(2n, 3n), 66.67);
  assert.equal(percent(1n, 8n), 12.5);
  assert.equal(percent(5n, 0n), 0);
  assert.equal(percent(7n, 7n), 100);
  // Rounded once: 23.2249 % is 23.22 %, not 23.23 % (23.225 rounded again).
  assert.equal(percent(232_249n, 1_000_000n), 23.22);
  assert.equal(percent(232_250n, 1_000_000n), 23.23);
});

test("parseUSD reads what people type, exactly, and refuses the rest", () => {
  assert.equal(parseUSD("12"), 12_000_000_000n);
  assert.equal(parseUSD(" $1,200.75 "), 1_200_750_000_000n);
  assert.equal(parseUSD("0.000000001"), 1n);
  for (const bad of ["", "abc", "1.0000000001", "-3", "1e3"]) assert.throws(() => parseUSD(bad), Error, bad);
});

test("money, nanos and inputUSD round-trip", () => {
  for (const n of [0n, 1n, 999_999_999n, 1_000_000_000n, 12_500_000_000n, -1_250_000_000n]) {
    assert.equal(nanos(money(n)), n);
    if (n >= 0n) assert.equal(parseUSD(inputUSD(n)), n);
  }
  assert.equal(inputUSD(12_500_000_000n), "12.5");
  assert.equal(nanos(undefined), 0n);
});
