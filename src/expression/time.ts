/**
 * RFC 3339 date-times → Unix seconds. Strict: full date, "T" (either case), time with
 * optional fraction, "Z" or ±hh:mm; every field range-checked (leap seconds, which Go also
 * rejects, included). Days are counted by hand because Date.UTC remaps years 0–99.
 */

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to the given proleptic Gregorian date. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The value of `count` ASCII digits at `at`, or -1 when one is not an ASCII digit. */
function digits(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * RFC 3339 (fractional seconds allowed) → Unix seconds; undefined when it does not parse.
 * Read character by character rather than by a regular expression and Number(): every object's
 * timestamps go through here, and this is several times faster. The grammar is
 * `dddd-dd-dd[Tt]dd:dd:dd(.d{1,9})?([Zz]|[+-]dd:dd)`, d an ASCII digit.
 */
export function parseRfc3339(text: string): number | undefined {
  const n = text.length;
  // 20: no fraction, "Z"; 35: nine fraction digits and an offset.
  if (n < 20 || n > 35) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if ((year | month | day | hour | minute | second) < 0) return undefined;
  const t = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (t !== 84 && t !== 116)) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  let i = 19;
  let frac = 0;
  if (text.charCodeAt(i) === 46) {
    let f = 0;
    let count = 0;
    for (i++; count < 9 && i < n; i++, count++) {
      const d = text.charCodeAt(i) - 48;
      if (!(d >= 0 && d <= 9)) break;
      f = f * 10 + d;
    }
    if (count === 0) return undefined;
    // Both exact, so the quotient is the correctly rounded value of the decimal fraction, as
    // Number("0.ddd") would give.
    frac = f / POW10[count]!;
  }
  let offset = 0;
  const z = text.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return undefined;
  } else if (z === 43 || z === 45) {
    if (i + 6 !== n || text.charCodeAt(i + 3) !== 58) return undefined;
    const oh = digits(text, i + 1, 2);
    const om = digits(text, i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
    offset = (z === 45 ? -1 : 1) * (oh * 3600 + om * 60);
  } else {
    return undefined;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const whole = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return whole + frac;
}
