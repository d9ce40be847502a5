/**
 * Which shard owns an object: Lamping & Veach's jump consistent hash of the 64-bit FNV-1a hash
 * of the object's uid — the rule kube-state-metrics applies, so a fleet mixing both exporters
 * agrees on ownership. Written from the published algorithms (FNV: Fowler, Noll, Vo; "A Fast,
 * Minimal Memory, Consistent Hash Algorithm", Lamping & Veach 2014).
 */

const TWO_32 = 4294967296;
const FNV_PRIME_LOW = 0x1b3; // the 64-bit prime is 2^40 + 0x1b3
const ENCODER = new TextEncoder();

/** FNV-1a, 64-bit, over the UTF-8 bytes of `s`, as [high, low] 32-bit halves. */
export function fnv1a64(s: string): [number, number] {
  // Offset basis 0xcbf29ce484222325.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  // uids are ASCII: read them directly; anything else goes through its UTF-8 bytes.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  const bytes: ArrayLike<number> = ascii ? { length: s.length } : ENCODER.encode(s);
  for (let i = 0; i < bytes.length; i++) {
    const byte = ascii ? s.charCodeAt(i) : bytes[i]!;
    lo = (lo ^ byte) >>> 0;
    // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64, with every partial product below 2^53.
    const low = lo * FNV_PRIME_LOW;
    const carry = Math.floor(low / TWO_32);
    hi = (hi * FNV_PRIME_LOW + carry + (lo % 0x1000000) * 256) % TWO_32;
    lo = low % TWO_32;
  }
  return [hi, lo];
}

export function fnv1a64BigInt(s: string): bigint {
  const [hi, lo] = fnv1a64(s);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const MASK_64 = (1n << 64n) - 1n;
const JUMP_MULTIPLIER = 2862933555777941757n;

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be >= 1, got ${buckets}`);
  let k = key & MASK_64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * JUMP_MULTIPLIER + 1n) & MASK_64;
    // Same float64 arithmetic as the reference: (b+1) · 2^31 / ((k >> 33) + 1), truncated.
    j = Math.floor((b + 1) * (2147483648 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard in [0, total) that owns `uid`. */
export function shardOf(uid: string, total: number): number {
  return total <= 1 ? 0 : jumpHash(fnv1a64BigInt(uid), total);
}
