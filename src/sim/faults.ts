import type { ResourceInfo } from "./registry.js";

/**
 * Which resource a fault applies to: the plural (`pods`), the plural qualified by group as
 * kubectl spells it (`backupsessions.core.kubestash.com`), or omitted for every resource.
 */
export type ResourceSelector = string | undefined;

export function resourceMatches(
  selector: ResourceSelector,
  info: { group: string; plural: string },
): boolean {
  if (selector === undefined) return true;
  return (
    selector === info.plural ||
    selector === `${info.plural}.${info.group}` ||
    selector === `${info.group}/${info.plural}`
  );
}

export type FaultVerb = "list" | "watch" | "any";

export interface FailureSpec {
  resource?: string;
  /** Which requests fail; "any" means both lists and watches. Default "any". */
  verb?: FaultVerb;
  /** HTTP code to answer: 410 (Expired), 429 (TooManyRequests), 500 (InternalError), … */
  status: number;
  /** How many requests fail before the fault clears itself. Default 1. */
  count?: number;
  /** Sent as `Retry-After` and in the Status details (429 mostly). Default 1. */
  retryAfterSeconds?: number;
}

interface ArmedFailure {
  resource: ResourceSelector;
  verb: FaultVerb;
  status: number;
  remaining: number;
  retryAfterSeconds: number;
}

export interface WatchControl {
  /** Abort matching open watch streams (socket destroyed mid-stream); returns how many. */
  drop(resource: ResourceSelector): number;
  /** Make matching open watch streams go silent without closing; returns how many. */
  hang(resource: ResourceSelector): number;
}

export interface BackendControl {
  compact(): void;
  restart(resourceVersionBase?: number): number;
}

/** Test-only misbehaviour, driven in-process through `ApiServer.faults`. */
export class Faults {
  private failures: ArmedFailure[] = [];
  private hangs: { resource: ResourceSelector; remaining: number }[] = [];
  private slow: { resource: ResourceSelector; delayMs: number }[] = [];

  constructor(
    private readonly watches: WatchControl,
    private readonly backend: BackendControl,
  ) {}

  /** Answer the next `count` matching list/watch requests with an error status. */
  failNext(spec: FailureSpec): void {
    this.failures.push({
      resource: spec.resource,
      verb: spec.verb ?? "any",
      status: spec.status,
      remaining: spec.count ?? 1,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
    });
  }

  /** The next `count` matching watches get headers and then nothing at all, forever. */
  hangNextWatches(options: { resource?: string; count?: number } = {}): void {
    this.hangs.push({ resource: options.resource, remaining: options.count ?? 1 });
  }

  /** Delay every list page of matching resources (until `clearSlowLists`). */
  slowLists(options: { resource?: string; delayMs: number }): void {
    this.slow.push({ resource: options.resource, delayMs: options.delayMs });
  }

  clearSlowLists(): void {
    this.slow = [];
  }

  dropWatches(options: { resource?: string } = {}): number {
    return this.watches.drop(options.resource);
  }

  hangWatches(options: { resource?: string } = {}): number {
    return this.watches.hang(options.resource);
  }

  /** Forget the event history: resuming a watch or a paginated list from before now gets 410. */
  compact(): void {
    this.backend.compact();
  }

  /**
   * Simulate an API server restart onto a restored backend: every watch is dropped, history
   * is forgotten and resourceVersions continue from `resourceVersionBase` (default: well above
   * the current one). Returns the new base.
   */
  restart(options: { resourceVersionBase?: number } = {}): number {
    this.watches.drop(undefined);
    return this.backend.restart(options.resourceVersionBase);
  }

  /** Disarm every pending fault (open streams already hung or dropped stay that way). */
  reset(): void {
    this.failures = [];
    this.hangs = [];
    this.slow = [];
  }

  /** @internal Consume one armed failure for this request, if any. */
  takeFailure(
    info: ResourceInfo,
    verb: "list" | "watch",
  ): { status: number; retryAfterSeconds: number } | undefined {
    const f = this.failures.find(
      (x) => x.remaining > 0 && (x.verb === "any" || x.verb === verb) && resourceMatches(x.resource, info),
    );
    if (!f) return undefined;
    f.remaining -= 1;
    this.failures = this.failures.filter((x) => x.remaining > 0);
    return { status: f.status, retryAfterSeconds: f.retryAfterSeconds };
  }

  /** @internal */
  takeHang(info: ResourceInfo): boolean {
    const h = this.hangs.find((x) => x.remaining > 0 && resourceMatches(x.resource, info));
    if (!h) return false;
    h.remaining -= 1;
    this.hangs = this.hangs.filter((x) => x.remaining > 0);
    return true;
  }

  /** @internal */
  listDelay(info: ResourceInfo): number {
    return this.slow.filter((s) => resourceMatches(s.resource, info)).reduce((a, s) => a + s.delayMs, 0);
  }
}
