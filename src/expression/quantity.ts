/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity):
 *   [+-] number ( Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|""|k|M|G|T|P|E | (e|E)[+-]digits )
 * Case-sensitive, no spaces. Decimal suffixes become part of the decimal exponent so that
 * JavaScript's correctly-rounded string→number conversion does the scaling ("150m" → 0.15
 * exactly as the literal 0.15); binary suffixes are powers of two, so multiplying is exact.
 */

const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_SUFFIX: Readonly<Record<string, number>> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:([eE])([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The quantity's value as a number, or undefined when it is not a quantity (or overflows). */
export function parseQuantity(s: string): number | undefined {
  if (s.length === 0 || s.length > 128) return undefined;
  const m = QUANTITY.exec(s);
  if (m === null) return undefined;
  const sign = m[1] ?? "";
  const digits = m[2] ?? "";
  let value: number;
  if (m[3] !== undefined) {
    value = Number(`${sign}${digits}e${m[4] ?? ""}`);
  } else {
    const suffix = m[5] ?? "";
    const binary = BINARY_SUFFIX[suffix];
    value =
      binary === undefined
        ? Number(`${sign}${digits}e${DECIMAL_SUFFIX[suffix] ?? 0}`)
        : Number(`${sign}${digits}`) * 2 ** binary;
  }
  if (!Number.isFinite(value)) return undefined;
  return Object.is(value, -0) ? 0 : value;
}
