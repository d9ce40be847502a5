import { constants, crc32, gunzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "@jest/globals";
import { MetricStore } from "../src/store/store.js";
import {
  crcCombine,
  crcShift,
  gzipPiece,
  GzipTrailer,
  inflatePieceSync,
  pieceBytes,
} from "../src/store/gzip.js";

const FAMILIES = [
  { name: "a_family", help: "A" },
  { name: "b_family", help: "B" },
];

function line(family: string, ns: string, name: string, value = 1): string {
  return `${family}{namespace="${ns}",obj="${name}"} ${value}\n`;
}

/** Deterministic pseudo-random sequence (tests stay reproducible). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function put(s: MetricStore, name: string, value: number, withB: boolean): void {
  s.upsert(
    "r",
    { namespace: `ns${name.length % 3}`, name },
    ["a_family", "b_family"],
    [
      line("a_family", "n", name, value),
      withB ? line("b_family", "n", name, value) + "ünïcode 1\n" : undefined,
    ],
  );
}

const joined = (bufs: Iterable<Buffer>): string => Buffer.concat([...bufs]).toString("utf8");

describe("MetricStore chunks", () => {
  it("serve exactly the rendered bytes, uncompressed and as concatenated gzip members, through splits and changes", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    const rand = prng(7);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 1500; i++) {
        const name = `o${Math.floor(rand() * 3000)}`;
        if (rand() < 0.15) s.delete("r", { namespace: `ns${name.length % 3}`, name });
        else put(s, name, Math.floor(rand() * 5), rand() < 0.5);
      }
      if (round % 2 === 0) s.compact();
      for (const format of ["text", "openmetrics"] as const) {
        const expected = s.render(format);
        expect(joined(s.chunks(format))).toBe(expected);
        const gz = Buffer.concat([...s.chunks(format, true)]);
        expect(gunzipSync(gz).toString("utf8")).toBe(expected);
        // One member (curl and others read only the first): header, deflate, CRC and size.
        const body = inflateRawSync(gz.subarray(10, gz.length - 8));
        expect(body.toString("utf8")).toBe(expected);
        expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(body));
        expect(gz.readUInt32LE(gz.length - 4)).toBe(body.length);
      }
    }
  });

  it("counts series through freezing and thawing", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    for (let i = 0; i < 1200; i++) put(s, `o${i}`, 1, i % 2 === 0);
    s.compact();
    expect(s.seriesCount("a_family")).toBe(1200);
    expect(s.seriesCount("b_family")).toBe(1200);
    for (let i = 0; i < 1200; i += 2) put(s, `o${i}`, 2, false);
    expect(s.seriesCount("b_family")).toBe(0);
    s.compact();
    expect(s.seriesCount("a_family")).toBe(1200);
  });

  it("write every object once per family when objects change during a walk", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    for (let i = 0; i < 2000; i++) put(s, `o${String(i).padStart(4, "0")}`, 1, false);
    s.compact();
    const out: Buffer[] = [];
    let n = 0;
    for (const chunk of s.chunks("text")) {
      out.push(chunk);
      if (n++ === 2) {
        // Inserts that would split a block, and a delete, in the middle of the walk.
        for (let i = 0; i < 1000; i++) put(s, `o0000-${i}`, 3, false);
        s.delete("r", { namespace: "ns1", name: "o1999" });
        s.compact();
      }
    }
    const names = Buffer.concat(out)
      .toString()
      .split("\n")
      .filter((l) => l.startsWith("a_family"))
      .map((l) => /obj="([^"]+)"/.exec(l)?.[1]);
    expect(new Set(names).size).toBe(names.length);
    // After the walk, the store is whole again.
    expect(joined(s.chunks("text"))).toBe(s.render("text"));
  });

  it("combine CRCs like computing them over the joined bytes", () => {
    const parts = ["", "a", "hello world\n", "x".repeat(70_000), "ünïcode"].map((t) => Buffer.from(t));
    const trailer = new GzipTrailer();
    for (const p of parts) trailer.add(gzipPiece(p, 1));
    const end = trailer.end();
    const all = Buffer.concat(parts);
    expect(end.readUInt32LE(2)).toBe(crc32(all));
    expect(end.readUInt32LE(6)).toBe(all.length);
    expect(crcCombine(crc32("abc"), crc32("def"), crcShift(3))).toBe(crc32("abcdef"));
  });

  it("keep pieces whose bytes inflate back to the data, whatever the characters", () => {
    for (const text of ["", 'a_family{x="1"} 1\n'.repeat(1000), "ünïcode ✓ \u0000\u00ff\n"]) {
      const data = Buffer.from(text);
      const piece = gzipPiece(data, 1);
      expect(inflatePieceSync(piece)).toEqual(data);
      expect(inflateRawSync(pieceBytes(piece), { finishFlush: constants.Z_SYNC_FLUSH })).toEqual(data);
    }
  });

  it("keep a block and its gzip member when an object renders the same again", () => {
    const s = new MetricStore();
    s.setFamilies(FAMILIES);
    for (let i = 0; i < 100; i++) put(s, `o${i}`, 1, true);
    const first = Buffer.concat([...s.chunks("text", true)]);
    const compressed = s.stats().compressions;
    expect(compressed).toBeGreaterThan(0);
    for (let i = 0; i < 100; i++) put(s, `o${i}`, 1, true);
    s.compact();
    const second = Buffer.concat([...s.chunks("text", true)]);
    // The same cached pieces (nothing compressed again) and the same bytes.
    expect(s.stats().compressions).toBe(compressed);
    expect(second).toEqual(first);
    put(s, "o7", 2, true);
    expect(Buffer.concat([...s.chunks("text", true)])).not.toEqual(first);
    expect(s.stats().compressions).toBe(compressed! + 2); // its block in each of the two families
  });
});
