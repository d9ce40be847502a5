/**
 * Go's time.ParseDuration grammar: [-+]? ( number unit )+ with units ns us µs μs ms s m h, or
 * "0" alone. Computed in integer nanoseconds like Go (fractions below 1ns truncated, the int64
 * range enforced) so that "10.089085545s" comes back as exactly 10.089085545.
 */

const COMPONENT = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;
const MAX_INT64 = 9_223_372_036_854_775_807n;

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

const isUnitChar = (c: number): boolean => (c >= 97 && c <= 122) || c === 0xb5 || c === 0x3bc;

/** Nanoseconds per unit of `s.slice(from, to)`, without slicing; undefined when not a unit. */
function unitAt(s: string, from: number, to: number): number | undefined {
  const first = s.charCodeAt(from);
  if (to - from === 1) return first === 115 ? 1e9 : first === 109 ? 60e9 : first === 104 ? 3600e9 : undefined;
  if (to - from !== 2 || s.charCodeAt(from + 1) !== 115) return undefined;
  if (first === 110) return 1;
  if (first === 117 || first === 0xb5 || first === 0x3bc) return 1e3;
  return first === 109 ? 1e6 : undefined;
}

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
  const start = i;
  // Durations as objects hold them ("1m20.183s") stay far below 2^53 ns, where doubles count
  // nanoseconds exactly: read by character code, without the regular expression and BigInt
  // arithmetic that parseBig, several times slower, keeps for the rest.
  let total = 0;
  while (i < s.length) {
    // One component: digits, optionally "." and digits (one of the two non-empty), a unit.
    let digits = 0;
    let value = 0;
    let fraction = 0;
    for (let d = s.charCodeAt(i) - 48; d >= 0 && d <= 9; d = s.charCodeAt(++i) - 48) {
      value = value * 10 + d;
      digits++;
    }
    if (s.charCodeAt(i) === 46) {
      for (let d = s.charCodeAt(++i) - 48; d >= 0 && d <= 9; d = s.charCodeAt(++i) - 48) {
        value = value * 10 + d;
        fraction++;
      }
    }
    if (digits === 0 && fraction === 0) return undefined;
    const unitStart = i;
    while (i < s.length && isUnitChar(s.charCodeAt(i))) i++;
    if (i === unitStart) return undefined;
    const unit = unitAt(s, unitStart, i);
    if (unit === undefined) return undefined;
    // Up to 15 digits, `value` is exact, and so is the product while below 2^53.
    if (digits + fraction > 15) return parseBig(s, start, negative);
    const scaled = value * unit;
    if (scaled > Number.MAX_SAFE_INTEGER) return parseBig(s, start, negative);
    const divisor = POW10[fraction]!;
    total += (scaled - (scaled % divisor)) / divisor;
    if (total > Number.MAX_SAFE_INTEGER) return parseBig(s, start, negative);
  }
  const seconds = total / 1e9;
  return negative && seconds !== 0 ? -seconds : seconds;
}

/** parseGoDuration in BigInt nanoseconds, from `i` (past the sign). */
function parseBig(s: string, i: number, negative: boolean): number | undefined {
  let total = 0n;
  while (i < s.length) {
    COMPONENT.lastIndex = i;
    const m = COMPONENT.exec(s);
    if (m === null) return undefined;
    const intPart = m[1] ?? "";
    const fracPart = m[2] ?? "";
    if (intPart === "" && fracPart === "") return undefined;
    const unit = unitAt(s, COMPONENT.lastIndex - (m[3] ?? "").length, COMPONENT.lastIndex);
    if (unit === undefined) return undefined;
    total += (BigInt(intPart + fracPart) * BigInt(unit)) / 10n ** BigInt(fracPart.length);
    // Go rejects anything past int64 nanoseconds (about 292 years); so do we.
    if (total > MAX_INT64 + (negative ? 1n : 0n)) return undefined;
    i = COMPONENT.lastIndex;
  }
  const seconds = Number(total) / 1e9;
  return negative && seconds !== 0 ? -seconds : seconds;
}
