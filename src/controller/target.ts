import { objectIdentity, renderObject, type EvaluationHooks } from "../engine/evaluate.js";
import type { TargetPlan } from "../engine/plan.js";
import type { KubeApi, KubeObject, ReflectorObserver, ReflectorOptions, ResourceRef } from "../kube/index.js";
import { Reflector } from "../kube/index.js";
import type { MetricStore } from "../store/store.js";
import { owns, type ShardSpec } from "../shard/shard.js";

export type ReflectorTuning = Pick<
  ReflectorOptions,
  "pageSize" | "watchTimeoutSeconds" | "watchdogSeconds" | "backoff"
>;

/**
 * One watched target resource: a reflector whose events are rendered through the target's plan
 * straight into the store. Objects are not kept — only their rendered fragments are.
 */
export class TargetRunner {
  private readonly reflector: Reflector;
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
    },
  ) {
    const storeKey = plan.key;
    const shard = options.shard && options.shard.total > 1 ? options.shard : undefined;
    this.shard = options.shard;
    const render = (obj: KubeObject): void => {
      const id = objectIdentity(obj);
      if (!id) return;
      if (shard && !owns(shard, obj)) {
        // Never rendered; the delete only matters if ownership moved here before a restart.
        store.delete(storeKey, id);
        return;
      }
      store.upsert(storeKey, id, plan.families, renderObject(plan, obj, options.hooks));
    };
    this.reflector = new Reflector({
      ...options.tuning,
      api: options.api,
      resource,
      observer: options.observer,
      ...(options.namespaces && options.namespaces.length > 0 ? { namespaces: options.namespaces } : {}),
      handler: {
        relistStart: () => {
          store.beginRelist(storeKey);
        },
        relistPage: (objects) => {
          for (const obj of objects) render(obj);
        },
        relistDone: () => {
          store.endRelist(storeKey);
        },
        upsert: render,
        delete: (obj) => {
          const id = objectIdentity(obj);
          if (id) store.delete(storeKey, id);
        },
      },
    });
  }

  get key(): string {
    return this.reflector.key;
  }

  get hasSynced(): boolean {
    return this.reflector.hasSynced;
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
    await this.reflector.stop();
  }

  objectCount(): number {
    return this.store.objectCount(this.plan.key);
  }
}
