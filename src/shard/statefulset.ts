import {
  Reflector,
  type KubeApi,
  type KubeObject,
  type ReflectorObserver,
  type ResourceRef,
} from "../kube/index.js";
import type { ReflectorTuning } from "../controller/target.js";
import { parsePodOrdinal, type ShardSpec } from "./shard.js";

const STATEFULSETS: ResourceRef = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
};

/**
 * Automatic sharding (`--pod`, `--pod-namespace`): this pod's ordinal comes from its name
 * (`<statefulset>-<ordinal>`), the number of shards from the StatefulSet's `spec.replicas`,
 * watched so that scaling re-shards every replica. Needs get/list/watch on statefulsets.
 */
export class StatefulSetShards {
  readonly statefulSet: string;
  readonly ordinal: number;
  private readonly reflector: Reflector;
  private current: ShardSpec | undefined;
  private resolveFirst: (spec: ShardSpec) => void = () => undefined;
  /** Resolves with the first assignment read from the StatefulSet. */
  readonly first: Promise<ShardSpec>;

  constructor(options: {
    api: KubeApi;
    pod: string;
    namespace: string;
    onChange: (spec: ShardSpec) => void;
    observer?: ReflectorObserver;
    tuning?: ReflectorTuning;
  }) {
    const parsed = parsePodOrdinal(options.pod);
    if (!parsed) {
      throw new Error(`--pod "${options.pod}" is not a StatefulSet pod name (<statefulset>-<ordinal>)`);
    }
    this.statefulSet = parsed.statefulSet;
    this.ordinal = parsed.ordinal;
    this.first = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
    const apply = (obj: KubeObject): void => {
      if (obj.metadata.name !== this.statefulSet) return;
      const replicas = (obj as { spec?: { replicas?: unknown } }).spec?.replicas;
      // spec.replicas defaults to 1 when unset.
      const total =
        typeof replicas === "number" && Number.isInteger(replicas) && replicas >= 1 ? replicas : 1;
      if (this.current?.total === total) return;
      this.current = { index: this.ordinal, total };
      this.resolveFirst(this.current);
      options.onChange(this.current);
    };
    this.reflector = new Reflector({
      ...options.tuning,
      api: options.api,
      resource: STATEFULSETS,
      namespaces: [options.namespace],
      fieldSelector: `metadata.name=${this.statefulSet}`,
      ...(options.observer ? { observer: options.observer } : {}),
      handler: {
        relistStart: () => undefined,
        relistPage: (objects) => {
          for (const o of objects) apply(o);
        },
        relistDone: () => undefined,
        upsert: apply,
        // Deleting the StatefulSet deletes this pod too; keep serving until then.
        delete: () => undefined,
      },
    });
  }

  get shard(): ShardSpec | undefined {
    return this.current;
  }

  start(): void {
    this.reflector.start();
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }
}
