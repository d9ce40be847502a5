import { describe, expect, it } from "@jest/globals";
import { fnv1a64BigInt, jumpHash, shardOf } from "../src/shard/hash.js";
import { owns, parsePodOrdinal, shardKey } from "../src/shard/shard.js";

// Computed independently with a direct Python transcription of FNV-1a (64-bit) and of the jump
// hash paper's reference code (float64 arithmetic); FNV vectors for "a" and "foobar" also match
// the published FNV test suite.
const VECTORS: [string, bigint, number[]][] = [
  ["", 0xcbf29ce484222325n, [0, 1, 1, 1, 1, 1, 90]],
  ["a", 0xaf63dc4c8601ec8cn, [0, 1, 2, 2, 2, 2, 31]],
  ["foobar", 0x85944171f73967e8n, [0, 1, 1, 1, 5, 5, 33]],
  ["3f8e2b9c-1d4a-4e6f-9a7b-0c1d2e3f4a5b", 0xc621d9641515b27n, [0, 0, 0, 0, 0, 0, 21]],
  ["ns/name", 0x23058ba7a02d3770n, [0, 0, 2, 3, 5, 5, 49]],
  ["ünïcødé", 0x7fe9369f83b596a0n, [0, 1, 1, 3, 5, 5, 86]],
  ["00000000-0000-0000-0000-000000000000", 0x7c384c6218f299f1n, [0, 1, 1, 1, 1, 1, 20]],
  ["b7f1c0de-5a2e-4c3b-8d9e-112233445566", 0xc20137c0ec9b570en, [0, 1, 1, 3, 3, 7, 55]],
];
const BUCKETS = [1, 2, 3, 4, 7, 10, 100];

describe("shard hashing", () => {
  it.each(VECTORS)("FNV-1a 64 and jump hash of %j", (uid, fnv, shards) => {
    expect(fnv1a64BigInt(uid)).toBe(fnv);
    expect(BUCKETS.map((n) => jumpHash(fnv, n))).toEqual(shards);
    expect(BUCKETS.map((n) => shardOf(uid, n))).toEqual(shards);
  });

  it("moves only the keys that must move when the fleet grows (consistency)", () => {
    const uids = Array.from({ length: 500 }, (_, i) => `uid-${i}`);
    for (const n of [1, 2, 3, 5, 8]) {
      for (const uid of uids) {
        const before = shardOf(uid, n);
        const after = shardOf(uid, n + 1);
        expect(after === before || after === n).toBe(true);
      }
    }
  });

  it("spreads keys evenly", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[shardOf(`uid-${i}`, 4)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it("hashes the uid, or namespace/name when there is none", () => {
    expect(shardKey({ metadata: { uid: "u-1", name: "x", namespace: "n" } })).toBe("u-1");
    expect(shardKey({ metadata: { name: "x", namespace: "n" } })).toBe("n/x");
    expect(shardKey({ metadata: { name: "x" } })).toBe("/x");
    expect(owns({ index: 0, total: 1 }, { metadata: {} })).toBe(true);
    const obj = { metadata: { uid: "ns/name" } };
    expect([0, 1, 2, 3].filter((index) => owns({ index, total: 4 }, obj))).toEqual([3]);
    // A pod left beyond a scaled-down StatefulSet keeps nothing, even when the fleet is one.
    expect(owns({ index: 4, total: 4 }, obj)).toBe(false);
    expect(owns({ index: 1, total: 1 }, obj)).toBe(false);
  });

  it("reads the ordinal from a StatefulSet pod name", () => {
    expect(parsePodOrdinal("crd-state-metrics-0")).toEqual({ statefulSet: "crd-state-metrics", ordinal: 0 });
    expect(parsePodOrdinal("a-b-12")).toEqual({ statefulSet: "a-b", ordinal: 12 });
    expect(parsePodOrdinal("nodigits")).toBeUndefined();
    expect(parsePodOrdinal("-3")).toBeUndefined();
  });
});
