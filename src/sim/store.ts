import { randomBytes } from "node:crypto";
import { getString, isObject, metadataOf, namespaceOf, type KubeObject } from "./types.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

/**
 * A stored object kept as its JSON text. Lists and watches send that text as is, and 100k
 * objects are 100k strings rather than millions of small heap objects, which keeps garbage
 * collection pauses short. Reading parses a fresh copy the caller owns.
 */
export class Stored {
  constructor(
    readonly json: string,
    readonly apiVersion: string,
    readonly namespace: string,
  ) {}

  static of(obj: KubeObject): Stored {
    return new Stored(JSON.stringify(obj), getString(obj, "apiVersion") ?? "", namespaceOf(obj));
  }

  get obj(): KubeObject {
    return JSON.parse(this.json) as KubeObject;
  }
}

/** One committed change; `previous` lets filtered watches turn a change into ADDED/DELETED. */
export interface StoreEvent {
  rv: number;
  type: EventType;
  resource: string;
  key: string;
  object: Stored;
  previous?: Stored;
}

export interface Entry {
  key: string;
  value: Stored;
}

/** A list frozen at one resourceVersion so that `continue` pages stay consistent. */
export interface ListSnapshot {
  id: string;
  resource: string;
  rv: number;
  entries: readonly Entry[];
  createdAt: number;
}

export type Subscriber = (event: StoreEvent) => void;

/** `namespace/name`, or just `name` for cluster-scoped objects, so keys sort like etcd keys. */
export function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function lowerBound(entries: readonly Entry[], key: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The objects of one resource, kept sorted by key. Inserting in key order (what seeding and
 * synthesis do) is an append; other inserts pay an array splice rather than a full sort, which
 * would stall the event loop at 100k objects.
 */
class Bucket {
  entries: Entry[] = [];

  get(key: string): Stored | undefined {
    const i = lowerBound(this.entries, key);
    const e = this.entries[i];
    return e?.key === key ? e.value : undefined;
  }

  set(key: string, value: Stored): void {
    const last = this.entries[this.entries.length - 1];
    if (!last || last.key < key) {
      this.entries.push({ key, value });
      return;
    }
    const i = lowerBound(this.entries, key);
    const entry = { key, value };
    if (this.entries[i]?.key === key) this.entries[i] = entry;
    else this.entries.splice(i, 0, entry);
  }

  delete(key: string): void {
    const i = lowerBound(this.entries, key);
    if (this.entries[i]?.key === key) this.entries.splice(i, 1);
  }

  /** Entries whose key starts with `prefix`, in key order. */
  range(prefix: string): Entry[] {
    if (!prefix) return this.entries.slice();
    const out: Entry[] = [];
    for (let i = lowerBound(this.entries, prefix); i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.key.startsWith(prefix)) break;
      out.push(e);
    }
    return out;
  }
}

export interface StoreOptions {
  /** How many past events a watch can resume from; older resourceVersions get 410. */
  windowSize: number;
  /** How long an unfinished paginated list stays resumable. */
  snapshotTtlMs: number;
  maxSnapshots: number;
  initialResourceVersion: number;
}

export const defaultStoreOptions: StoreOptions = {
  windowSize: 10_000,
  snapshotTtlMs: 5 * 60_000,
  maxSnapshots: 256,
  initialResourceVersion: 1000,
};

/** All objects, the global resourceVersion counter and the bounded event history. */
export class Store {
  private rv: number;
  private floor: number;
  private compactedRv: number;
  private ring: (StoreEvent | undefined)[];
  private ringStart = 0;
  private ringCount = 0;
  private readonly buckets = new Map<string, Bucket>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly snapshots = new Map<string, ListSnapshot>();

  constructor(private readonly options: StoreOptions = defaultStoreOptions) {
    this.rv = options.initialResourceVersion;
    this.floor = this.rv;
    this.compactedRv = this.rv;
    this.ring = new Array<StoreEvent | undefined>(Math.max(1, options.windowSize));
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may start from; everything after it is still held. */
  get oldestResumableVersion(): number {
    return this.floor;
  }

  get(resource: string, key: string): Stored | undefined {
    return this.buckets.get(resource)?.get(key);
  }

  /** Live entries of a resource (optionally one namespace), in key order; a fresh array. */
  entries(resource: string, namespace = ""): Entry[] {
    const bucket = this.buckets.get(resource);
    if (!bucket) return [];
    return bucket.range(namespace ? `${namespace}/` : "");
  }

  count(resource: string): number {
    return this.buckets.get(resource)?.entries.length ?? 0;
  }

  /**
   * Stamp the next resourceVersion on `obj`, store (a serialised copy of) it or remove it,
   * record the event and tell every subscriber before returning `obj`.
   */
  commit(resource: string, key: string, type: EventType, obj: KubeObject): KubeObject {
    this.rv += 1;
    const meta = metadataOf(obj);
    meta.resourceVersion = String(this.rv);
    if (!isObject(obj.metadata)) obj.metadata = meta;
    let bucket = this.buckets.get(resource);
    if (!bucket) {
      bucket = new Bucket();
      this.buckets.set(resource, bucket);
    }
    const previous = bucket.get(key);
    const stored = Stored.of(obj);
    if (type === "DELETED") bucket.delete(key);
    else bucket.set(key, stored);
    const event: StoreEvent = { rv: this.rv, type, resource, key, object: stored };
    if (previous) event.previous = previous;
    this.record(event);
    for (const s of [...this.subscribers]) s(event);
    return obj;
  }

  private record(event: StoreEvent): void {
    const cap = this.ring.length;
    if (this.ringCount === cap) {
      const evicted = this.ring[this.ringStart];
      if (evicted) this.floor = evicted.rv;
      this.ring[this.ringStart] = event;
      this.ringStart = (this.ringStart + 1) % cap;
    } else {
      this.ring[(this.ringStart + this.ringCount) % cap] = event;
      this.ringCount += 1;
    }
  }

  /** Events of `resource` after `rv`, or undefined when some of them have left the window. */
  eventsSince(rv: number, resource: string): StoreEvent[] | undefined {
    if (rv < this.floor) return undefined;
    const out: StoreEvent[] = [];
    const cap = this.ring.length;
    // Binary search over the ring for the first event newer than rv.
    let lo = 0;
    let hi = this.ringCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[(this.ringStart + mid) % cap]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ringCount; i++) {
      const e = this.ring[(this.ringStart + i) % cap]!;
      if (e.resource === resource) out.push(e);
    }
    return out;
  }

  subscribe(fn: Subscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Forget a resource's objects without events (its CRD is gone and the events were sent). */
  dropResource(resource: string): void {
    this.buckets.delete(resource);
    for (const [id, s] of this.snapshots) if (s.resource === resource) this.snapshots.delete(id);
  }

  /** `rv`: the resourceVersion `entries` were read at (default: now). */
  takeSnapshot(resource: string, entries: readonly Entry[], rv = this.rv): ListSnapshot {
    this.expireSnapshots();
    if (this.snapshots.size >= this.options.maxSnapshots) {
      const oldest = this.snapshots.keys().next();
      if (!oldest.done) this.snapshots.delete(oldest.value);
    }
    const snap: ListSnapshot = {
      id: randomBytes(6).toString("hex"),
      resource,
      rv,
      entries,
      createdAt: Date.now(),
    };
    this.snapshots.set(snap.id, snap);
    return snap;
  }

  /** A snapshot still usable for `continue`; undefined once expired, evicted or compacted. */
  snapshot(id: string, rv: number): ListSnapshot | undefined {
    this.expireSnapshots();
    const snap = this.snapshots.get(id);
    if (!snap || snap.rv !== rv || rv < this.compactedRv) return undefined;
    return snap;
  }

  releaseSnapshot(id: string): void {
    this.snapshots.delete(id);
  }

  private expireSnapshots(): void {
    const cutoff = Date.now() - this.options.snapshotTtlMs;
    for (const [id, s] of this.snapshots) if (s.createdAt < cutoff) this.snapshots.delete(id);
  }

  /** Forget all history, like an etcd compaction: old watches and continue tokens get 410. */
  compact(): void {
    this.ring = new Array<StoreEvent | undefined>(this.ring.length);
    this.ringStart = 0;
    this.ringCount = 0;
    this.floor = this.rv;
    this.compactedRv = this.rv;
    this.snapshots.clear();
  }

  /** A restored or restarted backend: history gone and versions continue from a new base. */
  resetResourceVersion(base: number): void {
    this.compact();
    this.rv = base;
    this.floor = base;
    this.compactedRv = base;
  }
}
