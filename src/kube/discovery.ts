/**
 * apiVersion + kind → served plural and scope, from the APIResourceList of the group-version.
 * "Not served" is an ordinary answer (a target whose CRD is not installed yet): `resolve` returns
 * undefined for it and caches that, so a controller asking repeatedly does not hammer the server.
 * `refresh` drops the cache when CRDs change.
 */
import type { KubeApi } from "./api.js";
import { KubeApiError } from "./api.js";
import { isRecord, parseApiVersion, type ResourceRef } from "./types.js";

type GroupVersionResources = ReadonlyMap<string, ResourceRef>;

export class Discovery {
  private readonly api: KubeApi;
  /** Keyed by apiVersion; a pending promise is shared by concurrent callers. */
  private readonly cache = new Map<string, Promise<GroupVersionResources | null>>();

  constructor(api: KubeApi) {
    this.api = api;
  }

  /**
   * The served resource for `apiVersion` + `kind`, or undefined when the group-version or kind
   * is not served. Throws KubeApiError only for failures other than NotFound (retry later).
   */
  async resolve(apiVersion: string, kind: string): Promise<ResourceRef | undefined> {
    const resources = await this.groupVersion(apiVersion);
    return resources?.get(kind);
  }

  /** All kinds served by one group-version (empty when not served). */
  async resources(apiVersion: string): Promise<ResourceRef[]> {
    const resources = await this.groupVersion(apiVersion);
    return resources === null ? [] : [...resources.values()];
  }

  /** Forget cached answers: for one apiVersion, or everything when omitted. */
  refresh(apiVersion?: string): void {
    if (apiVersion === undefined) this.cache.clear();
    else this.cache.delete(apiVersion);
  }

  private groupVersion(apiVersion: string): Promise<GroupVersionResources | null> {
    let pending = this.cache.get(apiVersion);
    if (pending === undefined) {
      pending = this.fetch(apiVersion);
      this.cache.set(apiVersion, pending);
      // Transient failures must not stick in the cache.
      pending.catch(() => {
        if (this.cache.get(apiVersion) === pending) this.cache.delete(apiVersion);
      });
    }
    return pending;
  }

  private async fetch(apiVersion: string): Promise<GroupVersionResources | null> {
    const { group, version } = parseApiVersion(apiVersion);
    if (version === "" || apiVersion.split("/").length > 2) return null;
    const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    let body: unknown;
    try {
      body = await this.api.getJson(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.isNotFound) return null;
      throw err;
    }
    return parseResourceList(body, group, version);
  }
}

function parseResourceList(body: unknown, group: string, version: string): GroupVersionResources {
  const result = new Map<string, ResourceRef>();
  if (!isRecord(body) || !Array.isArray(body.resources)) return result;
  for (const entry of body.resources as unknown[]) {
    if (!isRecord(entry)) continue;
    const { name, kind, namespaced } = entry;
    // Subresources (pods/status, scale) share the kind of their parent but are not collections.
    if (typeof name !== "string" || name.includes("/") || typeof kind !== "string") continue;
    const verbs = Array.isArray(entry.verbs) ? (entry.verbs as unknown[]) : undefined;
    // A kind we can neither list nor watch is useless to a reflector; skip rather than fail later.
    if (verbs !== undefined && !(verbs.includes("list") && verbs.includes("watch"))) continue;
    if (!result.has(kind)) {
      result.set(kind, { group, version, plural: name, kind, namespaced: namespaced === true });
    }
  }
  return result;
}
