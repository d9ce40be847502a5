/**
 * Plain data shapes shared by the kube layer and its consumers. Deliberately free of
 * client-node imports so the engine and store can depend on it without loading the client.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  [k: string]: unknown;
}

/** Any Kubernetes object as parsed from JSON; `metadata.managedFields` is always removed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

/** A served resource: what discovery resolves an `apiVersion` + `kind` to. */
export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** One page of a list call. */
export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  /** Present when more pages follow. */
  continue?: string;
  remainingItemCount?: number;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  /** For ERROR this is the Status object the server sent. */
  object: KubeObject;
}

/**
 * Label value for self-metrics (SPEC §10 says `group/version/plural`). The core group is spelled
 * `core` so every value has exactly three segments and none starts with a slash.
 */
export function resourceKey(ref: Pick<ResourceRef, "group" | "version" | "plural">): string {
  return `${ref.group === "" ? "core" : ref.group}/${ref.version}/${ref.plural}`;
}

/** `apiVersion` of a resource as written in manifests: `v1` for core, `group/version` otherwise. */
export function apiVersionOf(ref: Pick<ResourceRef, "group" | "version">): string {
  return ref.group === "" ? ref.version : `${ref.group}/${ref.version}`;
}

/** Splits an `apiVersion` into group and version; core `v1` has the empty group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return { group: "", version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** REST path of a resource collection, optionally restricted to one namespace. */
export function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.group === "" ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns =
    ref.namespaced && namespace !== undefined && namespace !== ""
      ? `/namespaces/${encodeURIComponent(namespace)}`
      : "";
  return `${base}${ns}/${ref.plural}`;
}

/** `namespace/name` for namespaced objects, `name` otherwise: the identity used by handlers. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns === undefined || ns === "" ? obj.metadata.name : `${ns}/${obj.metadata.name}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Narrows parsed JSON to a KubeObject and strips managedFields in place: they are the bulk of
 * many objects and nothing downstream reads them, so they must not survive past parsing.
 */
export function toKubeObject(value: unknown): KubeObject | undefined {
  if (!isRecord(value)) return undefined;
  const meta = value.metadata;
  if (!isRecord(meta) || typeof meta.name !== "string") return undefined;
  if ("managedFields" in meta) delete meta.managedFields;
  return value as KubeObject;
}
