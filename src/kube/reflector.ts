/**
 * List-then-watch for one resource with the discipline of client-go's reflector (SPEC §7):
 * paginated list, watch from the list's resourceVersion with bookmarks and a server timeout,
 * an inactivity watchdog, resume from the last seen resourceVersion, 410 → relist, exponential
 * backoff with jitter on anything else, and no giving up until stop().
 */
import { setTimeout as sleepTimer } from "node:timers/promises";
import { KubeApiError, type KubeApi } from "./api.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import {
  resourceKey,
  type KubeObject,
  type ResourceRef,
  type WatchEvent,
  type WatchEventType,
} from "./types.js";

export interface ReflectorHandler {
  /**
   * A (re)list begins; objects delivered until relistDone form the complete new state.
   * May be called again before relistDone when a list fails midway and is retried: the handler
   * then starts its "seen" bookkeeping over (objects already delivered stay, being current).
   */
  relistStart(): void;
  /** One page of the list, as it arrives. Objects are upserts; nothing is deleted before relistDone. */
  relistPage(objects: readonly KubeObject[]): void;
  /** Swap: anything known before relistStart and not seen since is deleted now. */
  relistDone(resourceVersion: string): void;
  /** ADDED / MODIFIED. */
  upsert(obj: KubeObject): void;
  /** DELETED. */
  delete(obj: KubeObject): void;
}

export type ListResult = "success" | "error" | "expired";
export type WatchRestartReason = "timeout" | "closed" | "watchdog" | "gone" | "error" | "throttled";

/** Hooks for self-metrics and logs; `resource` is resourceKey(ref), e.g. `core.kubestash.com/v1alpha1/backupsessions`. */
export interface ReflectorObserver {
  /** One complete list of one scope (all its pages), or its failure. */
  onList?(resource: string, result: ListResult): void;
  onWatchEvent?(resource: string, type: WatchEventType): void;
  onWatchRestart?(resource: string, reason: WatchRestartReason): void;
  /** Wall-clock time (seconds) of the latest ADDED/MODIFIED/DELETED event. */
  onEventTimestamp?(resource: string, seconds: number): void;
  /** First complete list; the resource is ready. */
  onSynced?(resource: string): void;
  /** Any failure, for logging. `delayMs` is how long the reflector waits before retrying. */
  onError?(resource: string, error: KubeApiError, phase: "list" | "watch", delayMs: number): void;
}

export interface ReflectorOptions {
  api: KubeApi;
  resource: ResourceRef;
  handler: ReflectorHandler;
  observer?: ReflectorObserver;
  /** Restrict a namespaced resource to these namespaces (one list/watch each). Ignored for cluster-scoped ones. */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (`limit`). Default 500. */
  pageSize?: number;
  /** Server-side watch timeout, fixed or a [min, max] range picked at random per watch. Default [300, 600]. */
  watchTimeoutSeconds?: number | readonly [number, number];
  /**
   * Re-watch when nothing (not even a bookmark) arrived for this long. kube-apiserver sends
   * bookmarks about once a minute, so a quiet but healthy watch is rarely restarted, and such a
   * restart costs one request, not a relist. Default 150.
   */
  watchdogSeconds?: number;
  backoff?: Partial<BackoffOptions>;
}

export interface ReflectorError {
  error: KubeApiError;
  phase: "list" | "watch";
  at: Date;
}

interface Scope {
  /** undefined: all namespaces (or a cluster-scoped resource). */
  namespace: string | undefined;
  resourceVersion: string;
}

type WatchOutcome =
  | { kind: "stopped" }
  | { kind: "gone" }
  | { kind: "timeout" }
  | { kind: "closed"; suspicious: boolean }
  | { kind: "watchdog" }
  /** `healthy`: the stream carried events, or stayed open a while, before failing. */
  | { kind: "error"; error: KubeApiError; healthy: boolean };

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_WATCH_TIMEOUT: readonly [number, number] = [300, 600];
const DEFAULT_WATCHDOG_SECONDS = 150;
/** client-go's rule: a watch that ends this fast with no events is a failure in disguise. */
const SHORT_WATCH_MS = 1000;

export class Reflector {
  readonly resource: ResourceRef;
  /** resourceKey(resource): the `resource` label value. */
  readonly key: string;
  /** Resolves once the first complete list was delivered. Never rejects. */
  readonly synced: Promise<void>;

  private readonly options: ReflectorOptions;
  private readonly scopes: Scope[];
  private readonly watchTimeout: readonly [number, number];
  private readonly watchdogMs: number;
  private stopped = false;
  private running: Promise<void> | undefined;
  private phase: AbortController | undefined;
  private syncedFlag = false;
  private resolveSynced: () => void = () => undefined;
  private lastErr: ReflectorError | undefined;

  constructor(options: ReflectorOptions) {
    this.options = options;
    this.resource = options.resource;
    this.key = resourceKey(options.resource);
    const namespaces = options.resource.namespaced ? [...new Set(options.namespaces ?? [])] : [];
    this.scopes =
      namespaces.length === 0
        ? [{ namespace: undefined, resourceVersion: "" }]
        : namespaces.map((namespace) => ({ namespace, resourceVersion: "" }));
    const timeout = options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT;
    this.watchTimeout = typeof timeout === "number" ? [timeout, timeout] : timeout;
    this.watchdogMs = (options.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS) * 1000;
    this.synced = new Promise<void>((resolve) => {
      this.resolveSynced = resolve;
    });
  }

  /** First complete list delivered (readiness). */
  get hasSynced(): boolean {
    return this.syncedFlag;
  }

  /** Latest failure; cleared by the next successful list or healthy watch. */
  get lastError(): ReflectorError | undefined {
    return this.lastErr;
  }

  /** Latest resourceVersion per scope ("" key for all namespaces). */
  get resourceVersions(): ReadonlyMap<string, string> {
    return new Map(this.scopes.map((s) => [s.namespace ?? "", s.resourceVersion]));
  }

  /** Starts listing and watching in the background. Idempotent. */
  start(): void {
    if (this.running !== undefined || this.stopped) return;
    this.running = this.run();
  }

  /** Aborts whatever is in flight; resolves when no further handler call can happen. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.phase?.abort();
    await this.running;
  }

  /** A method, not the field, so narrowing does not assume it unchanged across awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private async run(): Promise<void> {
    const listBackoff = new Backoff(this.options.backoff);
    while (!this.stopped) {
      const phase = new AbortController();
      this.phase = phase;
      try {
        await this.relist(phase.signal);
      } catch (err) {
        if (this.isStopped()) break;
        const error = asKubeError(err);
        const delay = listBackoff.next(error.retryAfterSeconds);
        this.fail(error, "list", delay);
        await sleep(delay, phase.signal);
        continue;
      }
      if (this.isStopped()) break;
      // Backoff counts consecutive failed lists; a complete list ends the run.
      listBackoff.reset();
      await this.watchAll(phase);
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const { api, resource, handler, observer } = this.options;
    const limit = this.options.pageSize ?? DEFAULT_PAGE_SIZE;
    // Announced with the first successful page, so a list that fails at once leaves the handler
    // untouched.
    let started = false;
    const begin = (): void => {
      if (!started) handler.relistStart();
      started = true;
    };
    const versions: string[] = [];
    for (const scope of this.scopes) {
      let continueToken: string | undefined;
      let resourceVersion = "";
      do {
        let page;
        try {
          page = await api.list(resource, {
            namespace: scope.namespace,
            limit,
            continue: continueToken,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            signal,
          });
        } catch (err) {
          if (!signal.aborted) {
            observer?.onList?.(this.key, err instanceof KubeApiError && err.isGone ? "expired" : "error");
          }
          throw err;
        }
        if (signal.aborted) throw new KubeApiError("stopped", { code: "ABORT_ERR" });
        begin();
        if (page.items.length > 0) handler.relistPage(page.items);
        continueToken = page.continue;
        resourceVersion = page.resourceVersion;
        // Parsing and handling a page is bounded work; between pages let scrapes and other
        // reflectors run so a 100k-object list never blocks the loop for long.
        await yieldToEventLoop();
        if (isAborted(signal)) throw new KubeApiError("stopped", { code: "ABORT_ERR" });
      } while (continueToken !== undefined);
      versions.push(resourceVersion);
      observer?.onList?.(this.key, "success");
    }
    this.scopes.forEach((scope, i) => {
      scope.resourceVersion = versions[i] ?? "";
    });
    begin();
    handler.relistDone(versions[versions.length - 1] ?? "");
    this.lastErr = undefined;
    if (!this.syncedFlag) {
      this.syncedFlag = true;
      this.resolveSynced();
      observer?.onSynced?.(this.key);
    }
  }

  /**
   * Watches every scope until one of them reports 410 (then everything relists, since the
   * handler's relist covers all scopes) or the reflector stops.
   */
  private async watchAll(phase: AbortController): Promise<void> {
    let onGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => {
      onGone = resolve;
    });
    const loops = this.scopes.map(async (scope) => {
      if ((await this.watchScope(scope, phase.signal)) === "gone") onGone();
    });
    const aborted = new Promise<void>((resolve) => {
      if (phase.signal.aborted) resolve();
      phase.signal.addEventListener("abort", () => {
        resolve();
      });
    });
    await Promise.race([gone, aborted]);
    phase.abort();
    await Promise.all(loops);
  }

  private async watchScope(scope: Scope, signal: AbortSignal): Promise<"gone" | "stopped"> {
    const backoff = new Backoff(this.options.backoff);
    const observer = this.options.observer;
    while (!signal.aborted) {
      const outcome = await this.watchOnce(scope, signal);
      if (isAborted(signal) || outcome.kind === "stopped") return "stopped";
      switch (outcome.kind) {
        case "gone":
          observer?.onWatchRestart?.(this.key, "gone");
          return "gone";
        case "timeout":
          // A watch that ran its full term was healthy: failures before it are over.
          backoff.reset();
          observer?.onWatchRestart?.(this.key, outcome.kind);
          break;
        case "watchdog":
          observer?.onWatchRestart?.(this.key, outcome.kind);
          break;
        case "closed": {
          observer?.onWatchRestart?.(this.key, "closed");
          // Only a run of streams closed at once, empty, means trouble; otherwise a long quiet
          // resource would build up a backoff from unrelated past drops and, when events
          // resume, sit out seconds of stale series.
          if (outcome.suspicious) await sleep(backoff.next(), signal);
          else backoff.reset();
          break;
        }
        case "error": {
          const { error } = outcome;
          observer?.onWatchRestart?.(this.key, error.isThrottled ? "throttled" : "error");
          // A stream that carried events and then broke is a new failure, not one more of a
          // run: start the sequence over, so recovery after a fault is prompt (docs/reliability.md).
          if (outcome.healthy) backoff.reset();
          const delay = backoff.next(error.retryAfterSeconds);
          this.fail(error, "watch", delay);
          await sleep(delay, signal);
          break;
        }
      }
    }
    return "stopped";
  }

  private watchOnce(scope: Scope, signal: AbortSignal): Promise<WatchOutcome> {
    const { api, resource } = this.options;
    const [min, max] = this.watchTimeout;
    // Randomised like client-go so many watches do not all expire (and re-request) together.
    const timeoutSeconds = Math.round(min + Math.random() * Math.max(0, max - min));
    const startedAt = Date.now();
    let events = 0;
    return new Promise<WatchOutcome>((resolve) => {
      if (signal.aborted) {
        resolve({ kind: "stopped" });
        return;
      }
      let finished = false;
      const end = (outcome: WatchOutcome): void => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        signal.removeEventListener("abort", onAbort);
        handle.abort();
        resolve(outcome);
      };
      const onAbort = (): void => {
        end({ kind: "stopped" });
      };
      const watchdog = setTimeout(() => {
        end({ kind: "watchdog" });
      }, this.watchdogMs);
      signal.addEventListener("abort", onAbort);
      const handle = api.watch(
        resource,
        {
          namespace: scope.namespace,
          resourceVersion: scope.resourceVersion,
          timeoutSeconds,
          allowWatchBookmarks: true,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
        },
        {
          onActivity: () => {
            watchdog.refresh();
          },
          onEvent: (event) => {
            if (finished) return;
            events++;
            watchdog.refresh();
            // Events flowing again means the last failure is over.
            this.lastErr = undefined;
            this.apply(scope, event);
          },
          onDone: (error) => {
            if (error !== undefined) {
              const healthy = events > 0 || Date.now() - startedAt >= SHORT_WATCH_MS;
              end(error.isGone ? { kind: "gone" } : { kind: "error", error, healthy });
              return;
            }
            const elapsed = Date.now() - startedAt;
            const timeoutMs = timeoutSeconds * 1000;
            if (elapsed >= timeoutMs - Math.min(1000, timeoutMs * 0.1)) {
              this.lastErr = undefined;
              end({ kind: "timeout" });
            } else {
              end({ kind: "closed", suspicious: events === 0 && elapsed < SHORT_WATCH_MS });
            }
          },
        },
      );
    });
  }

  private apply(scope: Scope, event: WatchEvent): void {
    const { handler, observer } = this.options;
    switch (event.type) {
      case "ADDED":
      case "MODIFIED":
        handler.upsert(event.object);
        break;
      case "DELETED":
        handler.delete(event.object);
        break;
      case "BOOKMARK":
      case "ERROR":
        break;
    }
    // Only after the handler accepted the event: a handler failure re-watches from before it.
    const rv = event.object.metadata.resourceVersion;
    if (typeof rv === "string" && rv !== "") scope.resourceVersion = rv;
    observer?.onWatchEvent?.(this.key, event.type);
    if (event.type !== "BOOKMARK") observer?.onEventTimestamp?.(this.key, Date.now() / 1000);
  }

  private fail(error: KubeApiError, phase: "list" | "watch", delayMs: number): void {
    this.lastErr = { error, phase, at: new Date() };
    this.options.observer?.onError?.(this.key, error, phase, delayMs);
  }
}

function asKubeError(err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  return new KubeApiError(err instanceof Error ? err.message : String(err), { cause: err });
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  try {
    await sleepTimer(ms, undefined, { signal });
  } catch {
    // Aborted: the caller checks the signal.
  }
}

/** Defeats narrowing: the signal may have fired during an await. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
