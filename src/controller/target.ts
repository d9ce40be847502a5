import { objectIdentity, renderObject, type EvaluationHooks } from "../engine/evaluate.js";
import type { TargetPlan } from "../engine/plan.js";
import type { KubeApi, KubeObject, ReflectorObserver, ReflectorOptions, ResourceRef } from "../kube/index.js";
import { Reflector } from "../kube/index.js";
import type { MetricStore } from "../store/store.js";
import { owns, type ShardSpec } from "../shard/shard.js";
import type { TargetGuard } from "./guard.js";

export type ReflectorTuning = Pick<
  ReflectorOptions,
  "pageSize" | "watchTimeoutSeconds" | "watchdogSeconds" | "backoff"
>;

/**
 * One watched target resource: a reflector whose events are rendered through the target's plan
 * straight into the store. Objects are not kept — only their rendered fragments are.
 */
export class TargetRunner {
  private reflector: Reflector;
  private readonly makeReflector: () => Reflector;
  /** Listed once before a relist() (readiness is about the first list only). */
  private listedBefore = false;
  private readonly guard: TargetGuard | undefined;
  /** The shard this runner filters for (undefined: unsharded). */
  readonly shard: ShardSpec | undefined;

  constructor(
    readonly plan: TargetPlan,
    readonly resource: ResourceRef,
    private readonly store: MetricStore,
    options: {
      api: KubeApi;
      hooks: EvaluationHooks;
      observer: ReflectorObserver;
      namespaces?: readonly string[];
      tuning?: ReflectorTuning;
      /** Keep only the objects this shard owns (filtered here, where objects enter). */
      shard?: ShardSpec;
      /** Series limits (guard.ts); without it every series is served. */
      guard?: TargetGuard;
    },
  ) {
    const storeKey = plan.key;
    // Unsharded fleets skip the hash; a pod beyond its StatefulSet's new size still filters
    // (everything out).
    const spec = options.shard;
    const shard = spec && (spec.total > 1 || spec.index >= spec.total) ? spec : undefined;
    this.shard = options.shard;
    const counts: number[] = [];
    const render = (obj: KubeObject): void => {
      const id = objectIdentity(obj);
      if (!id) return;
      if (shard && !owns(shard, obj)) {
        // Never rendered; the delete only matters if ownership moved here before a restart.
        store.delete(storeKey, id);
        return;
      }
      const fragments = renderObject(plan, obj, options.hooks, counts);
      if (guard) guard.upsert(storeKey, id, fragments, counts);
      else store.upsert(storeKey, id, plan.families, fragments);
    };
    const guard = options.guard;
    this.guard = guard;
    this.makeReflector = () =>
      new Reflector({
        ...options.tuning,
        api: options.api,
        resource,
        observer: options.observer,
        ...(options.namespaces && options.namespaces.length > 0 ? { namespaces: options.namespaces } : {}),
        handler: {
          relistStart: () => {
            store.beginRelist(storeKey);
            guard?.relistStart();
          },
          relistPage: (objects) => {
            for (const obj of objects) render(obj);
          },
          relistDone: () => {
            store.endRelist(storeKey);
            guard?.relistDone();
          },
          upsert: render,
          delete: (obj) => {
            const id = objectIdentity(obj);
            if (id) {
              store.delete(storeKey, id);
              guard?.deleted(id);
            }
          },
        },
      });
    this.reflector = this.makeReflector();
  }

  /**
   * List again from scratch with a new reflector (the cardinality guard reconsidering withheld
   * objects in order). Series stay served until the new list ends; readiness does not flap.
   */
  async relist(): Promise<void> {
    this.listedBefore ||= this.reflector.hasSynced;
    await this.reflector.stop();
    this.reflector = this.makeReflector();
    this.reflector.start();
  }

  get key(): string {
    return this.reflector.key;
  }

  get hasSynced(): boolean {
    return this.listedBefore || this.reflector.hasSynced;
  }

  get synced(): Promise<void> {
    return this.reflector.synced;
  }

  get lastError(): string | undefined {
    return this.reflector.lastError?.error.message;
  }

  start(): void {
    this.reflector.start();
  }

  async stop(): Promise<void> {
    this.guard?.close();
    await this.reflector.stop();
  }

  objectCount(): number {
    return this.store.objectCount(this.plan.key);
  }
}
