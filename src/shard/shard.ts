import { shardOf } from "./hash.js";

/** This replica's place in a sharded fleet. `total` 1 means unsharded. */
export interface ShardSpec {
  readonly index: number;
  readonly total: number;
}

export const UNSHARDED: ShardSpec = { index: 0, total: 1 };

export function validShard(spec: ShardSpec): boolean {
  return (
    Number.isInteger(spec.index) &&
    Number.isInteger(spec.total) &&
    spec.total >= 1 &&
    spec.index >= 0 &&
    spec.index < spec.total
  );
}

/**
 * The key an object is hashed by: its uid, as kube-state-metrics does. Every object the API
 * server returns has one; an object without (hand-made lists, some test servers) is hashed by
 * `namespace/name` instead, which is just as stable for that object's lifetime.
 */
export function shardKey(obj: { metadata?: { uid?: unknown; name?: unknown; namespace?: unknown } }): string {
  const md = obj.metadata;
  const uid = md?.uid;
  if (typeof uid === "string" && uid !== "") return uid;
  const ns = typeof md?.namespace === "string" ? md.namespace : "";
  const name = typeof md?.name === "string" ? md.name : "";
  return `${ns}/${name}`;
}

/**
 * True when this shard keeps the object. A pod whose ordinal is beyond the fleet size (its
 * StatefulSet scaled down and it awaits deletion) keeps nothing: the others cover every object.
 */
export function owns(
  spec: ShardSpec,
  obj: { metadata?: { uid?: unknown; name?: unknown; namespace?: unknown } },
): boolean {
  if (spec.index >= spec.total) return false;
  return spec.total <= 1 || shardOf(shardKey(obj), spec.total) === spec.index;
}

/** StatefulSet pods are named `<statefulset>-<ordinal>`. */
export function parsePodOrdinal(pod: string): { statefulSet: string; ordinal: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(pod);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const ordinal = Number(m[2]);
  return Number.isSafeInteger(ordinal) ? { statefulSet: m[1], ordinal } : undefined;
}
