/**
 * Messages between the exporter's thread and its decode workers (structured-clone data only),
 * and what a worker renders for one object.
 */
import type { ConfigSource } from "../config/types.js";
import type { EvaluationErrorReason } from "../engine/evaluate.js";
import type { ShardSpec } from "../shard/shard.js";

/** Enough to build, in another thread, the very plan the exporter renders a target with. */
export interface PlanSpec {
  /** Every admitted configuration (family conflicts across targets decide what a plan holds). */
  readonly configurations: readonly { readonly document: unknown; readonly source: ConfigSource }[];
  /** TargetPlan.key. */
  readonly target: string;
  /** Effective shard filter; undefined keeps every object. */
  readonly shard?: ShardSpec;
  /** planSignature() of the exporter's plan: a worker whose plan differs refuses to render. */
  readonly signature: string;
}

/** An object as rendered by a worker: what TargetRunner would have computed inline. */
export interface RenderedObject {
  /** False: another shard owns the object (nothing rendered; it is removed from the store). */
  readonly owned: boolean;
  /**
   * Per family slot of the plan; undefined where the object has no series. UTF-8 bytes, one
   * per character (MetricStore.upsert's `encoded`).
   */
  readonly fragments?: readonly (string | undefined)[];
  /** Series per slot, for the cardinality guard. */
  readonly counts?: readonly number[];
  /** Evaluation errors, replayed into the exporter's hooks: [index in plan.metrics, reason, message]. */
  readonly errors?: readonly (readonly [number, EvaluationErrorReason, string])[];
  /** Families that received a duplicate series. */
  readonly duplicates?: readonly string[];
}

export type ToWorker =
  | { readonly op: "plan"; readonly id: number; readonly spec: PlanSpec }
  | { readonly op: "release"; readonly id: number }
  /** A V8 CPU profile of the thread (the bench's --profile-updates): start, or stop and send it. */
  | { readonly op: "profile"; readonly start: boolean }
  | {
      readonly op: "lines";
      readonly plan: number;
      readonly stream: number;
      readonly seq: number;
      readonly apiVersion: string;
      readonly kind: string;
      readonly bytes: Uint8Array;
    };

/**
 * Decoded lines in a form that is cheap to send: structured clone costs about as much per
 * object and per string as parsing does, so every fragment of the batch travels in one string
 * and everything else in flat arrays (see packing in render-lines.ts).
 */
export interface PackedBatch {
  /** Per event: EVENT_CODES index; for upserts then owned (0/1), slots, and per slot byte length (-1: none) and series. */
  readonly meta: number[];
  /** Per ADDED/MODIFIED/DELETED event: name, namespace, uid, resourceVersion (null when absent). */
  readonly ids: (string | null)[];
  /**
   * Every fragment of the batch as UTF-8, back to back (lengths in `meta` are byte lengths).
   * Bytes, not a string: a string with one character outside Latin-1 travels as UTF-16, and
   * the store keeps UTF-8 anyway.
   */
  readonly bytes: Uint8Array;
  /** BOOKMARK and ERROR objects, in order. */
  readonly raw: unknown[];
  /** [event index, index in plan.metrics, reason, message]. */
  readonly errors: [number, number, string, string][];
  /** [event index, family]. */
  readonly duplicates: [number, string][];
  /** A bad line ended the batch after the events before it. */
  readonly error?: string;
}

/** A batch that only ends its stream, with `error`. */
export function failedBatch(error: string): PackedBatch {
  return { meta: [], ids: [], bytes: new Uint8Array(0), raw: [], errors: [], duplicates: [], error };
}

export const EVENT_CODES = ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"] as const;

export type FromWorker =
  | { readonly op: "plan"; readonly id: number; readonly error?: string }
  | { readonly op: "profile"; readonly profile?: unknown; readonly error?: string }
  | { readonly op: "lines"; readonly stream: number; readonly seq: number; readonly batch: PackedBatch };
