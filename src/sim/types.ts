/** JSON values as they arrive over the wire: parse into these, then narrow. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A stored Kubernetes object. The store never mutates one in place: every change produces a new
 * object, so list snapshots and queued watch events can hold references safely.
 */
export type KubeObject = JsonObject;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function getObject(value: JsonObject, key: string): JsonObject | undefined {
  const v = value[key];
  return isObject(v) ? v : undefined;
}

export function getString(value: JsonObject | undefined, key: string): string | undefined {
  const v = value?.[key];
  return typeof v === "string" ? v : undefined;
}

export function metadataOf(obj: JsonObject): JsonObject {
  return getObject(obj, "metadata") ?? {};
}

export function nameOf(obj: JsonObject): string {
  return getString(metadataOf(obj), "name") ?? "";
}

export function namespaceOf(obj: JsonObject): string {
  return getString(metadataOf(obj), "namespace") ?? "";
}

export function resourceVersionOf(obj: JsonObject): string {
  return getString(metadataOf(obj), "resourceVersion") ?? "";
}

export function labelsOf(obj: JsonObject): Record<string, string> {
  const labels = getObject(metadataOf(obj), "labels");
  const out: Record<string, string> = {};
  if (!labels) return out;
  for (const [k, v] of Object.entries(labels)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Deep copy of JSON-shaped data; a JSON round trip is several times faster than structuredClone here. */
export function clone<T extends JsonValue>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (typeof a !== "object" || typeof b !== "object" || Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}
