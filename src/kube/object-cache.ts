/**
 * A ReflectorHandler that keeps whole objects keyed by namespace/name and reports effective
 * changes. For small, fully needed sets (MetricsConfigurations, CRDs); target resources go to the
 * store, which keeps rendered fragments instead of objects.
 */
import type { ReflectorHandler } from "./reflector.js";
import { objectKey, type KubeObject } from "./types.js";

export interface ObjectCacheListener {
  /** Added or changed (including every object of a relist, which may be unchanged). */
  upserted?(obj: KubeObject, previous: KubeObject | undefined): void;
  deleted?(obj: KubeObject): void;
}

export class ObjectCache implements ReflectorHandler {
  private readonly objects = new Map<string, KubeObject>();
  private readonly listener: ObjectCacheListener;
  private seen: Set<string> | undefined;

  constructor(listener: ObjectCacheListener = {}) {
    this.listener = listener;
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  values(): IterableIterator<KubeObject> {
    return this.objects.values();
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  relistStart(): void {
    this.seen = new Set();
  }

  relistPage(objects: readonly KubeObject[]): void {
    for (const obj of objects) {
      this.seen?.add(objectKey(obj));
      this.upsert(obj);
    }
  }

  relistDone(_resourceVersion: string): void {
    const seen = this.seen;
    this.seen = undefined;
    if (seen === undefined) return;
    for (const [key, obj] of this.objects) {
      if (!seen.has(key)) {
        this.objects.delete(key);
        this.listener.deleted?.(obj);
      }
    }
  }

  upsert(obj: KubeObject): void {
    const key = objectKey(obj);
    const previous = this.objects.get(key);
    this.objects.set(key, obj);
    this.listener.upserted?.(obj, previous);
  }

  delete(obj: KubeObject): void {
    const key = objectKey(obj);
    const previous = this.objects.get(key);
    if (previous === undefined) return;
    this.objects.delete(key);
    this.listener.deleted?.(previous);
  }

  /** Drops everything without notifying (the owner is discarding this cache). */
  clear(): void {
    this.objects.clear();
    this.seen = undefined;
  }
}
