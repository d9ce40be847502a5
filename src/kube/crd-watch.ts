/**
 * Watches CustomResourceDefinitions so the controller learns at once (no polling) when a target's
 * CRD appears, changes its served versions or scope, or goes away, and can start or stop target
 * reflectors accordingly. It also answers resolution for CRD-backed kinds straight from the CRD,
 * which is authoritative even while the server's discovery documents lag behind.
 */
import type { KubeApi } from "./api.js";
import type { Discovery } from "./discovery.js";
import { ObjectCache } from "./object-cache.js";
import { Reflector, type ReflectorObserver, type ReflectorOptions } from "./reflector.js";
import { isRecord, parseApiVersion, type KubeObject, type ResourceRef } from "./types.js";

export const CRD_RESOURCE: ResourceRef = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

export interface CrdVersionInfo {
  name: string;
  served: boolean;
  storage: boolean;
  /** The version has a `status` subresource (status can be merge-patched separately). */
  statusSubresource: boolean;
}

export interface CrdInfo {
  /** `<plural>.<group>` */
  name: string;
  group: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  versions: CrdVersionInfo[];
  /** The Established condition is True (or not reported): the API server serves its resources. */
  established: boolean;
  /** Deletion has begun (the server is removing its objects). */
  terminating: boolean;
}

export interface CrdChange {
  type: "added" | "changed" | "removed";
  crd: CrdInfo;
  /** The previous state, for "changed" and "removed". */
  previous?: CrdInfo;
}

export type CrdListener = (change: CrdChange) => void;

export interface CrdWatcherOptions {
  api: KubeApi;
  /** Its cache is refreshed for every group-version a CRD change touches, before listeners run. */
  discovery?: Discovery;
  observer?: ReflectorObserver;
  /** Reflector tuning (timeouts, watchdog, backoff) — mainly for tests. */
  reflector?: Pick<ReflectorOptions, "pageSize" | "watchTimeoutSeconds" | "watchdogSeconds" | "backoff">;
}

export class CrdWatcher {
  private readonly crds = new Map<string, CrdInfo>();
  private readonly listeners = new Set<CrdListener>();
  private readonly reflector: Reflector;
  private readonly discovery: Discovery | undefined;

  constructor(options: CrdWatcherOptions) {
    this.discovery = options.discovery;
    const cache = new ObjectCache({
      upserted: (obj) => {
        this.update(obj);
      },
      deleted: (obj) => {
        this.remove(obj.metadata.name);
      },
    });
    this.reflector = new Reflector({
      ...options.reflector,
      api: options.api,
      resource: CRD_RESOURCE,
      handler: cache,
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
  }

  /** Resolves after the first complete CRD list (every installed CRD has been reported). */
  get synced(): Promise<void> {
    return this.reflector.synced;
  }

  get hasSynced(): boolean {
    return this.reflector.hasSynced;
  }

  get reflectorState(): Reflector {
    return this.reflector;
  }

  start(): void {
    this.reflector.start();
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }

  /** Listen to every CRD change; returns the unsubscribe function. */
  subscribe(listener: CrdListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  all(): CrdInfo[] {
    return [...this.crds.values()];
  }

  /** The CRD defining group + kind, whatever its versions. */
  find(group: string, kind: string): CrdInfo | undefined {
    for (const crd of this.crds.values()) {
      if (crd.group === group && crd.kind === kind) return crd;
    }
    return undefined;
  }

  /**
   * The served resource for `apiVersion` + `kind` when a CRD defines it and serves that version
   * (established, not being deleted); undefined otherwise — including for built-in kinds, which
   * the caller resolves through Discovery.
   */
  resolve(apiVersion: string, kind: string): ResourceRef | undefined {
    const { group, version } = parseApiVersion(apiVersion);
    const crd = this.find(group, kind);
    return crd === undefined ? undefined : servedResource(crd, version);
  }

  private update(obj: KubeObject): void {
    const info = parseCrd(obj);
    if (info === undefined) return;
    const previous = this.crds.get(info.name);
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(info)) return;
    this.crds.set(info.name, info);
    this.notify(
      previous === undefined ? { type: "added", crd: info } : { type: "changed", crd: info, previous },
    );
  }

  private remove(name: string): void {
    const previous = this.crds.get(name);
    if (previous === undefined) return;
    this.crds.delete(name);
    this.notify({ type: "removed", crd: previous, previous });
  }

  private notify(change: CrdChange): void {
    if (this.discovery !== undefined) {
      const touched = new Set(
        [...change.crd.versions, ...(change.previous?.versions ?? [])].map((v) => v.name),
      );
      for (const version of touched) this.discovery.refresh(`${change.crd.group}/${version}`);
    }
    for (const listener of this.listeners) listener(change);
  }
}

/** The ResourceRef of `version` if the CRD currently serves it. */
export function servedResource(crd: CrdInfo, version: string): ResourceRef | undefined {
  if (!crd.established || crd.terminating) return undefined;
  const v = crd.versions.find((candidate) => candidate.name === version);
  if (v === undefined || !v.served) return undefined;
  return { group: crd.group, version, plural: crd.plural, kind: crd.kind, namespaced: crd.namespaced };
}

/**
 * Resolution for any kind: CRD-backed kinds from the CRD (authoritative, no discovery lag), the
 * rest (built-in, aggregated) through discovery. undefined means "not served (yet)".
 */
export async function resolveResource(
  discovery: Discovery,
  crds: CrdWatcher | undefined,
  apiVersion: string,
  kind: string,
): Promise<ResourceRef | undefined> {
  const fromCrd = crds?.resolve(apiVersion, kind);
  if (fromCrd !== undefined) return fromCrd;
  const { group } = parseApiVersion(apiVersion);
  // A CRD exists for this kind but does not serve the version: discovery cannot do better.
  if (crds?.hasSynced === true && crds.find(group, kind) !== undefined) return undefined;
  return discovery.resolve(apiVersion, kind);
}

export function parseCrd(obj: KubeObject): CrdInfo | undefined {
  const spec = obj.spec;
  if (!isRecord(spec) || typeof spec.group !== "string" || !isRecord(spec.names)) return undefined;
  const { kind, plural } = spec.names;
  if (typeof kind !== "string" || typeof plural !== "string") return undefined;
  const versions: CrdVersionInfo[] = [];
  if (Array.isArray(spec.versions)) {
    for (const v of spec.versions as unknown[]) {
      if (!isRecord(v) || typeof v.name !== "string") continue;
      const subresources = isRecord(v.subresources) ? v.subresources : {};
      versions.push({
        name: v.name,
        served: v.served === true,
        storage: v.storage === true,
        statusSubresource: isRecord(subresources.status),
      });
    }
  }
  const status = isRecord(obj.status) ? obj.status : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  const condition = conditions.find((c) => isRecord(c) && c.type === "Established");
  // No Established condition at all means a server that does not report it (the embedded one)
  // or the first instant after creation; either way trying the resource costs at most one 404.
  const established = condition === undefined || (isRecord(condition) && condition.status === "True");
  return {
    name: obj.metadata.name,
    group: spec.group,
    kind,
    plural,
    namespaced: spec.scope !== "Cluster",
    versions,
    established,
    terminating: typeof obj.metadata.deletionTimestamp === "string" && obj.metadata.deletionTimestamp !== "",
  };
}
