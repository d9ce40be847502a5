/**
 * Decode worker threads, seen from the exporter's thread: a WatchDecoder per target plan.
 *
 * Why: at a steady stream of updates the exporter's one thread spends about two thirds of each
 * event parsing JSON and rendering series (docs/performance.md). Workers do that in parallel
 * and hand back finished fragments; the exporter's thread keeps the socket, the store and
 * scrapes. Batches of one stream may go to different workers: results are put back in stream
 * order before anything is applied.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { EventLoopUtilization } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { DecodedBatch, DecoderStream, WatchDecoder } from "../kube/api.js";
import type { Logger } from "../log/logger.js";
import { failedBatch, type FromWorker, type PackedBatch, type PlanSpec, type ToWorker } from "./protocol.js";
import { PlanRenderer, unpackBatch } from "./render-lines.js";

/**
 * dist/decode/worker.js. Worker threads load JavaScript only: code running from the TypeScript
 * sources (the test runner) uses the build that `npm test` makes first.
 */
export function decodeWorkerUrl(): URL {
  const here = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL(here.href.replace(/\/src\/decode\/worker\.js$/, "/dist/decode/worker.js"));
  if (built.href !== here.href && existsSync(fileURLToPath(built))) return built;
  throw new Error(`decode worker module not found at ${fileURLToPath(here)}; run \`npm run build\` first`);
}

export interface DecodePoolOptions {
  /** Worker threads (at least 1). */
  threads: number;
  /** The compiled worker module, dist/decode/worker.js. */
  workerUrl: URL;
  logger: Logger;
  /** A worker stopped unexpectedly (it is replaced at once). For a self-metric. */
  onWorkerExit?(): void;
}

/** Batches in flight per stream before the socket is paused (TCP pushes back on the server). */
const HIGH_WATER = 64;
const LOW_WATER = 16;

/**
 * When every thread has this many batches waiting, the exporter's thread decodes the next batch
 * itself: on a machine with few cores the decode threads are the bottleneck while the
 * exporter's thread idles, and the two sharing the work beat either alone.
 */
const HELP_BACKLOG = 2;

interface PlanEntry {
  readonly spec: PlanSpec;
  /** Why a worker would not build the plan: its streams decode inline. */
  refused?: string;
  /** This thread's own renderer for the plan, built the first time it helps. */
  here?: PlanRenderer | string;
}

export class DecodePool {
  private readonly slots: (Worker | undefined)[];
  /** Batches sent to each thread and not yet answered. */
  private readonly backlog: number[];
  /** Answers read since this thread last decoded a batch itself. */
  private answered = 0;
  /** Batches decoded by the threads and by this thread (helping). */
  readonly batches = { threads: 0, here: 0 };
  private readonly plans = new Map<number, PlanEntry>();
  private readonly streams = new Map<number, PooledStream>();
  private nextPlan = 1;
  private nextStream = 1;
  private closed = false;

  constructor(private readonly options: DecodePoolOptions) {
    this.slots = new Array<Worker | undefined>(Math.max(1, Math.floor(options.threads))).fill(undefined);
    this.backlog = new Array<number>(this.slots.length).fill(0);
  }

  get threads(): number {
    return this.slots.length;
  }

  /** A decoder for one target's plan; `release` when the target stops. */
  register(spec: PlanSpec): { decoder: WatchDecoder; release: () => void } {
    const id = this.nextPlan++;
    const entry: PlanEntry = { spec };
    this.plans.set(id, entry);
    for (let i = 0; i < this.slots.length; i++) this.send(this.worker(i), { op: "plan", id, spec });
    const decoder: WatchDecoder = {
      open: (apiVersion, kind, deliver) => {
        if (this.closed || entry.refused !== undefined || !this.plans.has(id)) return undefined;
        const stream = new PooledStream(this, this.nextStream++, id, apiVersion, kind, deliver);
        this.streams.set(stream.id, stream);
        return stream;
      },
    };
    return {
      decoder,
      release: () => {
        if (!this.plans.delete(id)) return;
        for (const worker of this.slots) if (worker) this.send(worker, { op: "release", id });
      },
    };
  }

  /** Stops every worker; open streams end with an error (their reflectors are stopping too). */
  async close(): Promise<void> {
    this.closed = true;
    this.failStreams("decode workers stopped");
    const workers = this.slots.filter((w): w is Worker => w !== undefined);
    this.slots.fill(undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** Per running thread: how busy it has been (for the bench). */
  eventLoopUtilization(): EventLoopUtilization[] {
    return this.slots
      .filter((w): w is Worker => w !== undefined)
      .map((w) => w.performance.eventLoopUtilization());
  }

  /**
   * Starts (then, `start` false, stops and returns) a V8 CPU profile of every running thread:
   * the bench's --profile-updates.
   */
  async profile(start: boolean): Promise<unknown[]> {
    const workers = this.slots.filter((w): w is Worker => w !== undefined);
    return Promise.all(
      workers.map(
        (w) =>
          new Promise<unknown>((resolve, reject) => {
            const onMessage = (m: FromWorker): void => {
              if (m.op !== "profile") return;
              w.off("message", onMessage);
              if (m.error !== undefined) reject(new Error(m.error));
              else resolve(m.profile);
            };
            w.on("message", onMessage);
            this.send(w, { op: "profile", start });
          }),
      ),
    );
  }

  /** Thread `i`, started if need be: tests stop one to see the pool recover. */
  workerForTests(i: number): Worker {
    return this.worker(i);
  }

  /** Sends one batch to the thread with the least waiting. */
  dispatch(message: Extract<ToWorker, { op: "lines" }>): void {
    let best = 0;
    for (let i = 1; i < this.backlog.length; i++) if (this.backlog[i]! < this.backlog[best]!) best = i;
    this.backlog[best]!++;
    this.batches.threads++;
    this.send(this.worker(best), message, [message.bytes.buffer as ArrayBuffer]);
  }

  /**
   * Decodes the batch on this thread when every decode thread is behind (HELP_BACKLOG); undefined
   * when they are not, or this thread cannot build the plan.
   */
  decodeHere(plan: number, bytes: Uint8Array, apiVersion: string, kind: string): PackedBatch | undefined {
    // Help again only once the threads answered as many batches as there are threads: answers
    // queue up unread while this thread decodes, so the backlog alone would say "behind" for
    // ever and this thread would end up doing all the work.
    if (this.answered < this.slots.length) return undefined;
    for (const n of this.backlog) if (n < HELP_BACKLOG) return undefined;
    const entry = this.plans.get(plan);
    if (entry === undefined) return undefined;
    entry.here ??= PlanRenderer.build(entry.spec);
    if (typeof entry.here === "string") return undefined;
    this.answered = 0;
    this.batches.here++;
    try {
      return entry.here.decode(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        apiVersion,
        kind,
      );
    } catch (err) {
      // As a thread reports it: the stream ends and is watched again from the last event applied.
      return failedBatch(`watch event handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  forget(stream: number): void {
    this.streams.delete(stream);
  }

  private send(worker: Worker, message: ToWorker, transfer?: ArrayBuffer[]): void {
    worker.postMessage(message, transfer);
  }

  private worker(i: number): Worker {
    const existing = this.slots[i];
    if (existing) return existing;
    const worker = new Worker(this.options.workerUrl, { name: `decode-${String(i)}` });
    // Workers never keep the process alive: the exporter's own servers and reflectors do.
    worker.unref();
    worker.on("message", (message: FromWorker) => {
      if (message.op === "lines" && this.slots[i] === worker) {
        this.backlog[i] = Math.max(0, this.backlog[i]! - 1);
        this.answered++;
      }
      this.onMessage(message);
    });
    worker.on("error", (err) => {
      this.options.logger.error({ err: err.message, thread: i }, "decode worker failed");
    });
    worker.on("exit", (code) => {
      if (this.slots[i] !== worker) return;
      this.slots[i] = undefined;
      this.backlog[i] = 0;
      if (this.closed) return;
      this.options.onWorkerExit?.();
      this.options.logger.error(
        { thread: i, exitCode: code },
        "decode worker stopped; replacing it (watches in flight start again from their last applied event)",
      );
      // Its batches are lost: every stream ends, and its reflector watches again from the
      // last event it applied.
      this.failStreams(`decode worker stopped (exit code ${String(code)})`);
      const next = this.worker(i);
      for (const [id, entry] of this.plans) this.send(next, { op: "plan", id, spec: entry.spec });
    });
    this.slots[i] = worker;
    return worker;
  }

  private onMessage(message: FromWorker): void {
    if (message.op === "profile") return;
    if (message.op === "plan") {
      const entry = this.plans.get(message.id);
      if (entry === undefined || message.error === undefined || entry.refused !== undefined) return;
      entry.refused = message.error;
      this.options.logger.warn(
        { target: entry.spec.target, reason: message.error },
        "decode worker cannot render this target; its watch events are decoded on the main thread",
      );
      return;
    }
    this.streams.get(message.stream)?.settle(message.seq, message.batch);
  }

  private failStreams(error: string): void {
    for (const stream of [...this.streams.values()]) stream.fail(error);
  }
}

class PooledStream implements DecoderStream {
  /** Batches in flight, oldest first; `undefined` until its worker answered. */
  private readonly queue: (PackedBatch | undefined)[] = [];
  /** seq of queue[0]. */
  private head = 0;
  private nextSeq = 0;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  /** Pushed in this turn of the event loop, sent together at its end. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly pool: DecodePool,
    readonly id: number,
    private readonly plan: number,
    private readonly apiVersion: string,
    private readonly kind: string,
    private readonly deliver: (batch: DecodedBatch) => void,
  ) {}

  push(bytes: Buffer): boolean {
    if (this.closed) return true;
    // An HTTP chunk is often one event (the API server flushes each): what arrives in one read
    // of the socket goes to a worker as one message, since each message costs about as much as
    // decoding a small event.
    if (this.pending.length === 0) queueMicrotask(this.flush);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    return this.queue.length < HIGH_WATER;
  }

  private readonly flush = (): void => {
    if (this.closed || this.pending.length === 0) return;
    // One copy into memory of its own, which is then transferred, not copied again.
    const bytes = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const piece of this.pending) {
      bytes.set(piece, at);
      at += piece.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    const seq = this.nextSeq++;
    this.queue.push(undefined);
    const here = this.pool.decodeHere(this.plan, bytes, this.apiVersion, this.kind);
    if (here !== undefined) {
      // Applied in order all the same: it waits behind batches still on the threads.
      this.settle(seq, here);
      return;
    }
    this.pool.dispatch({
      op: "lines",
      plan: this.plan,
      stream: this.id,
      seq,
      apiVersion: this.apiVersion,
      kind: this.kind,
      bytes,
    });
  };

  /** Resolves when few enough batches are in flight to read on. */
  room(): Promise<void> {
    if (this.closed || this.queue.length <= LOW_WATER) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  drained(): Promise<void> {
    if (this.closed || (this.queue.length === 0 && this.pending.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.pending = [];
    this.pool.forget(this.id);
    this.wake();
  }

  /** The worker's answer for batch `seq`; delivers every batch that is now next in order. */
  settle(seq: number, batch: PackedBatch): void {
    if (this.closed) return;
    const at = seq - this.head;
    if (at < 0 || at >= this.queue.length) return;
    this.queue[at] = batch;
    while (this.queue.length > 0 && this.queue[0] !== undefined) {
      const next = this.queue.shift()!;
      this.head++;
      this.deliver(unpackBatch(next, this.apiVersion, this.kind));
      // Delivering may end the stream (a bad event, an aborted watch).
      if (this.isClosed()) return;
    }
    this.wake();
  }

  /** A method, so narrowing does not assume `closed` unchanged across deliver(). */
  private isClosed(): boolean {
    return this.closed;
  }

  fail(error: string): void {
    if (this.closed) return;
    const deliver = this.deliver;
    this.close();
    deliver({ events: [], error });
  }

  private wake(): void {
    if (this.closed || (this.queue.length === 0 && this.pending.length === 0)) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
    if (this.closed || this.queue.length <= LOW_WATER) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }
}
