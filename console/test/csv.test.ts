// Unit tests of the CSV export (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cell, toCSV } from "../src/csv";

test("cells are quoted when needed and formulas are defused", () => {
  assert.equal(cell("plain"), "plain");
  assert.equal(cell('say "hi", then'), '"say ""hi"", then"');
  assert.equal(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(cell("-12.5"), "-12.5");
  assert.equal(cell(-3), "-3");
  assert.equal(cell(12n), "12");
  assert.equal(toCSV([["team", "cost"], ["a,b", 1]]), 'team,cost\r\n"a,b",1\r\n');
});
