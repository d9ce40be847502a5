import type { ServerResponse } from "node:http";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { apiVersionFor, storageKey, type ResourceInfo } from "./registry.js";
import { isEverything, matches, type Selector } from "./selectors.js";
import { errors, type ApiError } from "./status.js";
import type { Entry, Stored, StoreEvent } from "./store.js";
import { toTable } from "./table.js";
import type { JsonObject, KubeObject } from "./types.js";

export interface WatchOptions {
  info: ResourceInfo;
  version: string;
  namespace: string;
  selector: Selector;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** Objects turn into one-row Tables, for `kubectl get -w`. */
  table: boolean;
  /** Queue length at which a watcher that cannot keep up is cut off, as kube-apiserver does. */
  maxQueue: number;
  currentResourceVersion: () => number;
  present: (obj: KubeObject) => KubeObject;
  /** The JSON text of a stored object as this watch's version presents it. */
  json: (stored: Stored) => string;
}

type Outgoing = { type: string; object: Stored };

/**
 * Lines are batched into one write, and the loop is yielded to between batches. A batch is
 * bounded by bytes (joining stored JSON text is cheap: 1 MiB takes about a millisecond) more
 * than by count, so that a burst of writes reaches a watcher as fast as it reads, as from
 * kube-apiserver, instead of queueing here behind a small per-turn quota.
 */
const BATCH_EVENTS = 1000;
const BATCH_BYTES = 1024 * 1024;
/** Bound on objects examined per batch when a selector filters most of them out. */
const SCAN_LIMIT = 5000;

/**
 * One open watch: a chunked response carrying one JSON event per line. Events are queued and
 * written by a pump that respects socket backpressure and yields between batches, so neither
 * a huge initial state nor a slow client can stall the server.
 */
export class WatchStream {
  private initial: Entry[] = [];
  private initialIndex = 0;
  private live: StoreEvent[] = [];
  private pumping = false;
  /** End the stream once everything queued has been written (a resource stopped being served). */
  private finishing = false;
  private closed = false;
  private hung = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** All events up to this version have been written. */
  private deliveredRv: number;

  constructor(
    private readonly res: ServerResponse,
    readonly options: WatchOptions,
    private readonly onClose: (w: WatchStream) => void,
  ) {
    this.deliveredRv = options.currentResourceVersion();
    res.on("close", () => {
      this.cleanup();
    });
  }

  get resource(): string {
    return storageKey(this.options.info);
  }

  get info(): ResourceInfo {
    return this.options.info;
  }

  /** Send headers now: clients treat a watch as established once they see them. */
  open(): void {
    this.res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    this.res.flushHeaders();
    if (this.options.timeoutMs > 0) {
      this.timeoutTimer = setTimeout(() => {
        this.end();
      }, this.options.timeoutMs);
    }
    if (this.options.bookmarks && this.options.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => {
        this.bookmark();
      }, this.options.bookmarkIntervalMs);
    }
  }

  /** Start with the current state as ADDED events, then follow live changes. */
  startWithState(entries: Entry[], subscribe: (fn: (e: StoreEvent) => void) => () => void): void {
    this.initial = entries;
    this.unsubscribe = subscribe((e) => {
      this.enqueue(e);
    });
    this.kick();
  }

  /** Resume after a resourceVersion with the events the window still holds. */
  startFrom(events: StoreEvent[], subscribe: (fn: (e: StoreEvent) => void) => () => void): void {
    this.live = events;
    this.unsubscribe = subscribe((e) => {
      this.enqueue(e);
    });
    this.kick();
  }

  /** An ERROR event carrying a Status, then a clean end: how kube reports an expired version. */
  fail(err: ApiError): void {
    if (this.closed) return;
    this.res.write(`${JSON.stringify({ type: "ERROR", object: err.toStatus() })}\n`);
    this.end();
  }

  /** Go silent: no bytes, no close, no timeout. The client must notice on its own. */
  hang(): void {
    this.hung = true;
    this.live = [];
    this.initial = [];
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
  }

  /** Abort the connection mid-stream, without the terminating chunk. */
  drop(): void {
    if (this.closed) return;
    this.res.destroy();
    this.cleanup();
  }

  /**
   * Deliver what is queued (e.g. the DELETED events of a removed CRD's objects), then end:
   * kube-apiserver sends those events before closing the watch.
   */
  finish(): void {
    if (this.closed) return;
    this.finishing = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.hung) {
      this.end();
      return;
    }
    this.kick();
  }

  end(): void {
    if (this.closed) return;
    this.cleanup();
    this.res.end();
  }

  /** A method, not a field read, because pump() re-checks it after awaiting. */
  private stopped(): boolean {
    return this.closed || this.hung;
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
    this.live = [];
    this.initial = [];
    this.onClose(this);
  }

  private enqueue(event: StoreEvent): void {
    if (this.closed || this.hung || event.resource !== this.resource) return;
    this.live.push(event);
    if (this.live.length > this.options.maxQueue) {
      // A consumer this far behind would only hold memory; kube drops such watchers too.
      this.fail(errors.gone("watcher could not keep up; resume from the last resourceVersion seen"));
      return;
    }
    this.kick();
  }

  private kick(): void {
    if (this.pumping || this.closed || this.hung) return;
    this.pumping = true;
    this.pump()
      .catch(() => {
        this.drop();
      })
      .finally(() => {
        this.pumping = false;
        // A pump that ended without awaiting leaves `pumping` set until this microtask: events
        // queued in between were refused by kick() and must not wait for the next event.
        if (!this.closed && !this.hung && (this.live.length > 0 || this.initialIndex < this.initial.length)) {
          this.kick();
        } else if (this.finishing) {
          this.end();
        }
      });
  }

  private translate(event: StoreEvent): Outgoing | undefined {
    const { namespace, selector } = this.options;
    if (namespace && event.object.namespace !== namespace) return undefined;
    if (isEverything(selector)) return { type: event.type, object: event.object };
    const now = matches(event.object.obj, selector);
    if (event.type === "ADDED") return now ? { type: "ADDED", object: event.object } : undefined;
    const before = event.previous !== undefined && matches(event.previous.obj, selector);
    if (event.type === "DELETED")
      return now || before ? { type: "DELETED", object: event.object } : undefined;
    if (now && before) return { type: "MODIFIED", object: event.object };
    if (now) return { type: "ADDED", object: event.object };
    if (before) return { type: "DELETED", object: event.object };
    return undefined;
  }

  private line(out: Outgoing): string {
    if (this.options.table) {
      const table = toTable(
        this.options.info,
        this.options.version,
        [this.options.present(out.object.obj)],
        {},
      );
      return `${JSON.stringify({ type: out.type, object: table })}\n`;
    }
    return `{"type":"${out.type}","object":${this.options.json(out.object)}}\n`;
  }

  private next(): { out?: Outgoing; rv?: number } | undefined {
    if (this.initialIndex < this.initial.length) {
      const e = this.initial[this.initialIndex++]!;
      if (isEverything(this.options.selector) || matches(e.value.obj, this.options.selector))
        return { out: { type: "ADDED", object: e.value } };
      return {};
    }
    const event = this.live.shift();
    if (!event) return undefined;
    const out = this.translate(event);
    return out ? { out, rv: event.rv } : { rv: event.rv };
  }

  private async pump(): Promise<void> {
    for (;;) {
      let chunk = "";
      let n = 0;
      let scanned = 0;
      let exhausted = false;
      while (n < BATCH_EVENTS && chunk.length < BATCH_BYTES && scanned < SCAN_LIMIT) {
        const item = this.next();
        scanned++;
        if (!item) {
          exhausted = true;
          break;
        }
        if (item.rv !== undefined) this.deliveredRv = item.rv;
        if (item.out) {
          chunk += this.line(item.out);
          n++;
        }
      }
      if (this.closed || this.hung) return;
      if (chunk.length === 0) {
        if (exhausted) {
          this.initial = [];
          this.initialIndex = 0;
          this.deliveredRv = Math.max(this.deliveredRv, this.options.currentResourceVersion());
          if (this.finishing) this.end();
          return;
        }
        await yieldToLoop();
        continue;
      }
      const ok = this.res.write(chunk);
      if (!ok) await this.drained();
      else await yieldToLoop();
      if (this.stopped()) return;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  private bookmark(): void {
    if (this.closed || this.hung || this.pumping || this.live.length > 0) return;
    if (this.initialIndex < this.initial.length) return;
    const rv = Math.max(this.deliveredRv, this.options.currentResourceVersion());
    const object: JsonObject = {
      kind: this.options.info.kind,
      apiVersion: apiVersionFor(this.options.info.group, this.options.version),
      metadata: { resourceVersion: String(rv) },
    };
    this.res.write(`${JSON.stringify({ type: "BOOKMARK", object })}\n`);
  }
}
