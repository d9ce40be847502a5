/**
 * Go's time.ParseDuration grammar: [-+]? ( number unit )+ with units ns us µs μs ms s m h, or
 * "0" alone. Computed in integer nanoseconds like Go (fractions below 1ns truncated, the int64
 * range enforced) so that "10.089085545s" comes back as exactly 10.089085545.
 */

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const COMPONENT = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;
const MAX_INT64 = 9_223_372_036_854_775_807n;

/** Seconds (fractional), or undefined when the text is not a Go duration. */
export function parseGoDuration(s: string): number | undefined {
  if (s.length === 0 || s.length > 256) return undefined;
  let i = 0;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    i = 1;
  }
  if (s.slice(i) === "0") return 0;
  if (i === s.length) return undefined;
  let total = 0n;
  while (i < s.length) {
    COMPONENT.lastIndex = i;
    const m = COMPONENT.exec(s);
    if (m === null) return undefined;
    const intPart = m[1] ?? "";
    const fracPart = m[2] ?? "";
    if (intPart === "" && fracPart === "") return undefined;
    const unit = UNIT_NS[m[3] ?? ""];
    if (unit === undefined) return undefined;
    total += (BigInt(intPart + fracPart) * unit) / 10n ** BigInt(fracPart.length);
    // Go rejects anything past int64 nanoseconds (about 292 years); so do we.
    if (total > MAX_INT64 + (negative ? 1n : 0n)) return undefined;
    i = COMPONENT.lastIndex;
  }
  const seconds = Number(total) / 1e9;
  return negative && seconds !== 0 ? -seconds : seconds;
}
