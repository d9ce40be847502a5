import { readFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";
import type { ChildProcess } from "node:child_process";

/**
 * A tiny request/response protocol over a forked child's IPC channel. The child answers
 * `{id, result}` or `{id, error}`; unsolicited `{event, ...}` messages announce state changes.
 */

export interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}

export type Handler = (args: unknown) => unknown;

/** In the child: serve commands until the parent disconnects. */
export function serveCommands(handlers: Record<string, Handler>): void {
  process.on("message", (msg: Request) => {
    const handler = handlers[msg.cmd];
    void (async () => {
      try {
        if (!handler) throw new Error(`unknown command ${msg.cmd}`);
        const result: unknown = await handler(msg.args);
        process.send?.({ id: msg.id, result });
      } catch (err) {
        process.send?.({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  process.on("disconnect", () => {
    process.exit(0);
  });
}

export function announce(event: string, data: Record<string, unknown> = {}): void {
  process.send?.({ event, ...data });
}

interface Reply {
  id?: number;
  result?: unknown;
  error?: string;
  event?: string;
}

/** In the parent: a handle on one child. */
export class Remote {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly events = new Map<string, ((data: Record<string, unknown>) => void)[]>();
  private readonly seen = new Map<string, Record<string, unknown>>();
  private exited: Error | undefined;

  constructor(readonly child: ChildProcess) {
    child.on("message", (msg: Reply) => {
      if (msg.event !== undefined) {
        const data = msg as unknown as Record<string, unknown>;
        this.seen.set(msg.event, data);
        for (const cb of this.events.get(msg.event) ?? []) cb(data);
        this.events.delete(msg.event);
        return;
      }
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(msg.error));
      else w.resolve(msg.result);
    });
    child.on("exit", (code, signal) => {
      this.exited = new Error(`child exited (${code ?? signal ?? "?"})`);
      for (const w of this.waiting.values()) w.reject(this.exited);
      this.waiting.clear();
    });
  }

  call<T>(cmd: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Resolves with the event's data (at once when it already happened). */
  event(name: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const done = this.seen.get(name);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no "${name}" from child within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.events.get(name) ?? [];
      list.push((data) => {
        clearTimeout(timer);
        resolve(data);
      });
      this.events.set(name, list);
      this.child.once("exit", () => {
        clearTimeout(timer);
        reject(this.exited ?? new Error("child exited"));
      });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) =>
      this.child.once("exit", () => {
        resolve();
      }),
    );
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** Memory of a process after a full collection. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Where the resident bytes are: V8 heap spaces (used/committed), /proc smaps, extras. */
  breakdown?: Record<string, number>;
}

/** Resident-memory details for the bench report (Linux: /proc/self/smaps_rollup). */
function breakdown(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of getHeapSpaceStatistics()) {
    out[`heap.${s.space_name}.used`] = s.space_used_size;
    out[`heap.${s.space_name}.committed`] = s.physical_space_size;
  }
  try {
    for (const line of readFileSync("/proc/self/smaps_rollup", "utf8").split("\n")) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[`smaps.${m[1]!}`] = Number(m[2]) * 1024;
    }
  } catch {
    // not Linux: the V8 figures alone
  }
  return out;
}

export function memoryAfterGc(extra: () => Record<string, number> = () => ({})): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    breakdown: { ...breakdown(), ...extra() },
  };
}

/** Peak RSS over a window, sampled on a timer (the loop yields often during scrapes). */
export class PeakRss {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, 10);
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return Math.max(this.peak, process.memoryUsage.rss());
  }
}
