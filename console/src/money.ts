// Money in the console: google.type.Money values (USD units + nanos) are
// turned into nano-dollars (bigint) for arithmetic and formatted in
// dollars. Nothing here uses floating point for sums; Number is used only
// to format and to draw.

/** The shape of google.type.Money the generated code gives us. */
export interface MoneyLike {
  units: bigint;
  nanos: number;
  currencyCode?: string;
}

export const NANOS_PER_DOLLAR = 1_000_000_000n;

/** nanos returns a Money value in nano-dollars (0 when unset). */
export function nanos(m: MoneyLike | undefined): bigint {
  if (!m) return 0n;
  return m.units * NANOS_PER_DOLLAR + BigInt(m.nanos);
}

/** money returns the google.type.Money fields of an amount in nano-dollars. */
export function money(n: bigint): { currencyCode: string; units: bigint; nanos: number } {
  // units and nanos carry the same sign (google.type.Money's rule); BigInt
  // division truncates toward zero, which gives exactly that.
  return { currencyCode: "USD", units: n / NANOS_PER_DOLLAR, nanos: Number(n % NANOS_PER_DOLLAR) };
}

/** dollars returns an amount in nano-dollars as a Number of dollars (for charts). */
export function dollars(n: bigint): number {
  return Number(n) / 1e9;
}

const whole = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });

/**
 * formatUSD formats nano-dollars with sensible precision: cents from one
 * dollar up ("$1,234.56"); below a dollar, four significant digits
 * ("$0.01235", "$0.000042") so that small per-request costs do not all
 * read "$0.00"; exactly zero is "$0.00".
 */
export function formatUSD(n: bigint): string {
  if (n === 0n) return "$0.00";
  const neg = n < 0n;
  const a = neg ? -n : n;
  let s: string;
  if (a >= NANOS_PER_DOLLAR) {
    // Round half up to the cent in bigint, then format the cents exactly.
    const cents = (a + 5_000_000n) / 10_000_000n;
    s = whole.format(Number(cents / 100n)).replace(/\.\d+$/, "") + "." + String(cents % 100n).padStart(2, "0");
  } else {
    const digits = a.toString().length; // a < 1e9: at most 9 digits of nanos
    const decimals = Math.max(2, Math.min(9, 9 - digits + 4));
    const scale = 10n ** BigInt(9 - decimals);
    const q = (a + scale / 2n) / scale; // rounded to `decimals` places
    let frac = q.toString().padStart(decimals, "0");
    if (frac.length > decimals) {
      // Rounding carried into the dollars (e.g. $0.99999 → $1.00).
      return (neg ? "-" : "") + "$1.00";
    }
    frac = frac.replace(/0+$/, "");
    if (frac.length < 2) frac = frac.padEnd(2, "0");
    s = "$0." + frac;
  }
  return neg ? "-" + s : s;
}

/**
 * percent returns part/total in percent, rounded to two decimals (0 when
 * total is 0), computed in integers.
 */
export function percent(part: bigint, total: bigint): number {
  if (total === 0n) return 0;
  // Hundredths of a percent, rounded once (half up): rounding twice, to
  // thousandths first, would turn 23.2249 % into 23.23 %.
  const hundredths = (part * 10_000n + total / 2n) / total;
  return Number(hundredths) / 100;
}

/** formatPercent formats a percentage with one decimal ("42.3 %"). */
export function formatPercent(p: number): string {
  return `${p.toFixed(1)} %`;
}

/**
 * parseUSD reads a dollar amount typed by a person ("12", "12.5",
 * "$1,200.75", "0.000001") into nano-dollars, exactly. It throws on
 * anything else, including more than nine decimals.
 */
export function parseUSD(text: string): bigint {
  const s = text.trim().replace(/^\$/, "").replaceAll(",", "");
  const m = /^(\d+)(?:\.(\d{0,9}))?$/.exec(s);
  if (!m) throw new Error(`"${text}" is not an amount in dollars`);
  return BigInt(m[1]) * NANOS_PER_DOLLAR + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** inputUSD formats nano-dollars for an input field ("12.5"), exactly. */
export function inputUSD(n: bigint): string {
  const units = n / NANOS_PER_DOLLAR;
  const frac = (n % NANOS_PER_DOLLAR).toString().padStart(9, "0").replace(/0+$/, "");
  return frac ? `${units}.${frac}` : `${units}`;
}
