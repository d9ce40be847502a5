/**
 * Human byte sizes as KubeStash writes them ("12.222 MiB", "806 B") and as Panopticon's
 * bytes() read them (go-humanize ParseBytes: case-insensitive units, "k" = 1000, "ki" = 1024).
 * The decimal is scaled with BigInt so that rounding down is exact: 12.222 × 2^20 is
 * 12815695.872 exactly, which a float multiply can land on either side of.
 */

const UNIT_POWERS: Readonly<Record<string, readonly [base: bigint, power: bigint]>> = {
  "": [1n, 0n],
  b: [1n, 0n],
  k: [1000n, 1n],
  kb: [1000n, 1n],
  ki: [1024n, 1n],
  kib: [1024n, 1n],
  m: [1000n, 2n],
  mb: [1000n, 2n],
  mi: [1024n, 2n],
  mib: [1024n, 2n],
  g: [1000n, 3n],
  gb: [1000n, 3n],
  gi: [1024n, 3n],
  gib: [1024n, 3n],
  t: [1000n, 4n],
  tb: [1000n, 4n],
  ti: [1024n, 4n],
  tib: [1024n, 4n],
  p: [1000n, 5n],
  pb: [1000n, 5n],
  pi: [1024n, 5n],
  pib: [1024n, 5n],
  e: [1000n, 6n],
  eb: [1000n, 6n],
  ei: [1024n, 6n],
  eib: [1024n, 6n],
};

// Digits (optionally grouped by thousands with commas), optional fraction, spaces, unit letters.
const SIZE = /^(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?[ \t]*([A-Za-z]*)$/;

/** Whole bytes (rounded down), or undefined when the text is not a size. */
export function parseBytes(s: string): number | undefined {
  const text = s.trim();
  if (text.length === 0 || text.length > 128) return undefined;
  const m = SIZE.exec(text);
  if (m === null) return undefined;
  const intPart = (m[1] ?? "").replaceAll(",", "");
  const fracPart = m[2] ?? "";
  if (intPart === "" && fracPart === "") return undefined;
  const unit = UNIT_POWERS[(m[3] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const [base, power] = unit;
  const scaled = BigInt(intPart + fracPart) * base ** power;
  const whole = scaled / 10n ** BigInt(fracPart.length);
  const n = Number(whole);
  return Number.isFinite(n) ? n : undefined;
}
