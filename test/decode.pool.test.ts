import { afterEach, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import type { CompiledConfiguration } from "../src/config/compiled.js";
import { loadConfigurations } from "../src/config/load.js";
import { DecodePool, decodeWorkerUrl } from "../src/decode/pool.js";
import type { PlanSpec } from "../src/decode/protocol.js";
import { PlanRenderer, planSignature, unpackBatch } from "../src/decode/render-lines.js";
import { buildPlan, type TargetPlan } from "../src/engine/plan.js";
import type { DecodedBatch, DecoderStream } from "../src/kube/api.js";
import type { KubeObject } from "../src/kube/types.js";
import { createLogger } from "../src/log/logger.js";
import { generateKubeStashEstate } from "../src/sim/synthetic.js";
import { eventually, LogSink, ROOT } from "./support/live.js";

/**
 * The pool with real worker threads (the compiled dist/decode/worker.js, which `npm test`
 * builds first): order across threads, flow control, and what happens when a thread dies.
 */

const BS_API = "core.kubestash.com/v1alpha1";
const BS_KIND = "BackupSession";

let pool: DecodePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function setup(threads: number): Promise<{
  pool: DecodePool;
  logs: LogSink;
  spec: PlanSpec;
  plan: TargetPlan;
  configs: CompiledConfiguration[];
  sessions: KubeObject[];
}> {
  const { configurations } = await loadConfigurations([join(ROOT, "metricsconfigurations", "kubestash")]);
  const plan = buildPlan(configurations).targets.get(`${BS_API}/${BS_KIND}`)!;
  const spec: PlanSpec = {
    configurations: configurations.map((c) => ({ document: c.document, source: c.source })),
    target: plan.key,
    signature: planSignature(plan),
  };
  const sessions: KubeObject[] = [];
  for (const o of generateKubeStashEstate(3000))
    if (o.kind === BS_KIND) sessions.push(o as unknown as KubeObject);
  const logs = new LogSink();
  pool = new DecodePool({
    threads,
    workerUrl: decodeWorkerUrl(),
    logger: createLogger({ level: "debug", destination: logs.stream }),
  });
  return { pool, logs, spec, plan, configs: configurations, sessions };
}

/** The sessions as watch lines, `perBatch` events to a push. */
function batchesOf(sessions: readonly KubeObject[], perBatch: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < sessions.length; i += perBatch) {
    const text = sessions
      .slice(i, i + perBatch)
      .map((o) => JSON.stringify({ type: "MODIFIED", object: o }) + "\n")
      .join("");
    out.push(Buffer.from(text));
  }
  return out;
}

function collect(): { batches: DecodedBatch[]; deliver: (b: DecodedBatch) => void } {
  const batches: DecodedBatch[] = [];
  return { batches, deliver: (b) => batches.push(b) };
}

describe("decode pool", () => {
  it("delivers in stream order what one thread computes, across several threads", async () => {
    const { pool, spec, sessions } = await setup(3);
    const { decoder } = pool.register(spec);
    const got = collect();
    const stream = decoder.open(BS_API, BS_KIND, got.deliver)!;
    expect(stream).toBeDefined();
    const input = batchesOf(sessions.slice(0, 400), 7);
    for (const b of input) {
      stream.push(b);
      // One batch per synchronous run (see the flow-control test).
      await Promise.resolve();
    }
    await stream.drained();
    expect(pool.batches.threads).toBe(input.length);
    const reference = PlanRenderer.build(spec) as PlanRenderer;
    const expected = input.flatMap(
      (b) => unpackBatch(reference.decode(b, BS_API, BS_KIND), BS_API, BS_KIND).events,
    );
    const events = got.batches.flatMap((b) => b.events);
    expect(events.length).toBe(400);
    expect(events).toEqual(expected);
    expect(got.batches.every((b) => b.error === undefined)).toBe(true);
  });

  it("decodes a batch itself when the threads are behind, still delivering in order", async () => {
    const { pool, spec, sessions } = await setup(1);
    const { decoder } = pool.register(spec);
    const got = collect();
    const stream = decoder.open(BS_API, BS_KIND, got.deliver)!;
    const input = batchesOf(sessions.slice(0, 300), 10);
    for (const b of input.slice(0, 20)) {
      stream.push(b);
      await Promise.resolve();
    }
    // Not behind yet in the sense that counts: no answer has been read since the start.
    expect(pool.batches.here).toBe(0);
    await eventually(() => got.batches.length > 0, 10_000, "a first answer");
    for (const b of input.slice(20)) {
      stream.push(b);
      await Promise.resolve();
    }
    await stream.drained();
    expect(pool.batches.here).toBeGreaterThan(0);
    expect(pool.batches.here + pool.batches.threads).toBe(input.length);
    const reference = PlanRenderer.build(spec) as PlanRenderer;
    const expected = input.flatMap(
      (b) => unpackBatch(reference.decode(b, BS_API, BS_KIND), BS_API, BS_KIND).events,
    );
    expect(got.batches.flatMap((b) => b.events)).toEqual(expected);
  });

  it("keeps streams apart and takes bytes that share memory with other Buffers", async () => {
    const { pool, spec, sessions } = await setup(2);
    const { decoder } = pool.register(spec);
    const a = collect();
    const b = collect();
    const sa = decoder.open(BS_API, BS_KIND, a.deliver)!;
    const sb = decoder.open(BS_API, BS_KIND, b.deliver)!;
    const small = Buffer.from(JSON.stringify({ type: "MODIFIED", object: sessions[0] }) + "\n");
    // A slice of a bigger Buffer: sending it by transfer would detach the whole.
    const big = Buffer.concat([small, small]);
    const slice = big.subarray(0, small.length);
    sa.push(slice);
    sb.push(Buffer.from(JSON.stringify({ type: "DELETED", object: sessions[1] }) + "\n"));
    await Promise.all([sa.drained(), sb.drained()]);
    expect(big.length).toBe(2 * small.length);
    expect(big.subarray(small.length).equals(small)).toBe(true);
    expect(a.batches.flatMap((x) => x.events).map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["MODIFIED", sessions[0]!.metadata.name],
    ]);
    expect(b.batches.flatMap((x) => x.events).map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["DELETED", sessions[1]!.metadata.name],
    ]);
  });

  it("asks the reader to pause while much is in flight, and says when to go on", async () => {
    const { pool, spec, sessions } = await setup(1);
    const { decoder } = pool.register(spec);
    const got = collect();
    const stream = decoder.open(BS_API, BS_KIND, got.deliver)!;
    const one = Buffer.from(JSON.stringify({ type: "MODIFIED", object: sessions[0] }) + "\n");
    const answers: boolean[] = [];
    for (let i = 0; i < 100; i++) {
      answers.push(stream.push(Buffer.from(one)));
      // What is pushed in one synchronous run travels as one batch: end the run (a microtask
      // turn, so no answer can come back in between: answers need the event loop).
      await Promise.resolve();
    }
    expect(answers.indexOf(false)).toBeGreaterThan(0);
    expect(answers.slice(answers.indexOf(false)).every((x) => !x)).toBe(true);
    await stream.room();
    expect(got.batches.length).toBeGreaterThan(0);
    await stream.drained();
    expect(got.batches.length).toBe(100);
  });

  it("delivers nothing after close", async () => {
    const { pool, spec, sessions } = await setup(1);
    const { decoder } = pool.register(spec);
    const got = collect();
    const stream = decoder.open(BS_API, BS_KIND, got.deliver)!;
    for (const b of batchesOf(sessions.slice(0, 50), 5)) stream.push(b);
    stream.close();
    await stream.drained();
    // Another stream on the same thread proves the closed one's answers came and were dropped.
    const later = collect();
    const s2 = decoder.open(BS_API, BS_KIND, later.deliver)!;
    s2.push(batchesOf(sessions.slice(0, 1), 1)[0]!);
    await s2.drained();
    expect(later.batches.length).toBe(1);
    expect(got.batches).toEqual([]);
  });

  it("ends open streams when a thread dies, replaces it, and decodes again", async () => {
    const exits: number[] = [];
    const { logs, spec, sessions } = await setup(1);
    await pool!.close();
    pool = new DecodePool({
      threads: 1,
      workerUrl: decodeWorkerUrl(),
      logger: createLogger({ level: "debug", destination: logs.stream }),
      onWorkerExit: () => exits.push(1),
    });
    const { decoder } = pool.register(spec);
    const got = collect();
    const stream: DecoderStream = decoder.open(BS_API, BS_KIND, got.deliver)!;
    stream.push(batchesOf(sessions.slice(0, 5), 5)[0]!);
    await stream.drained();
    expect(got.batches.flatMap((b) => b.events).length).toBe(5);
    await pool.workerForTests(0).terminate();
    await eventually(() => exits.length === 1, 5_000, "the pool to notice the stopped thread");
    expect(got.batches.at(-1)?.error).toMatch(/decode worker stopped/);
    expect(logs.matching(/decode worker stopped/).length).toBe(1);
    const again = collect();
    const s2 = decoder.open(BS_API, BS_KIND, again.deliver)!;
    s2.push(batchesOf(sessions.slice(5, 8), 3)[0]!);
    await s2.drained();
    expect(again.batches.flatMap((b) => b.events).map((e) => e.object.metadata.name)).toEqual(
      sessions.slice(5, 8).map((o) => o.metadata.name),
    );
  });

  it("falls back to inline decoding for a plan a thread would build differently", async () => {
    const { pool, logs, spec } = await setup(1);
    const { decoder } = pool.register({ ...spec, signature: "not this plan" });
    const got = collect();
    // Opened before the refusal arrives: its lines are answered with an error.
    const early = decoder.open(BS_API, BS_KIND, got.deliver)!;
    early.push(Buffer.from('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n'));
    await early.drained();
    expect(got.batches[0]?.error).toMatch(/compiles differently/);
    await eventually(
      () => logs.matching(/decode worker cannot render this target/).length === 1,
      5_000,
      "the refusal to arrive",
    );
    expect(decoder.open(BS_API, BS_KIND, got.deliver)).toBeUndefined();
  });
});
