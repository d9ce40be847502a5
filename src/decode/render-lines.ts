/**
 * The work a decode worker does for one target: whole watch lines in, a packed batch out, each
 * upsert carrying its rendered series instead of the object; and, on the exporter's thread,
 * the unpacking back into watch events. Tests run both in one thread and compare them with
 * inline rendering.
 */
import { compileConfiguration } from "../config/compile.js";
import type { CompiledMetric } from "../config/compiled.js";
import {
  objectIdentity,
  renderObject,
  type EvaluationErrorReason,
  type EvaluationHooks,
} from "../engine/evaluate.js";
import { buildPlan, type TargetPlan } from "../engine/plan.js";
import type { DecodedBatch } from "../kube/api.js";
import type { KubeObject, ObjectMeta, WatchEvent } from "../kube/types.js";
import { parseWatchLine } from "../kube/watch-line.js";
import { owns, type ShardSpec } from "../shard/shard.js";
import { EVENT_CODES, type PackedBatch, type PlanSpec, type RenderedObject } from "./protocol.js";

const NEWLINE = 0x0a;
const CODE: Readonly<Record<string, number>> = Object.fromEntries(EVENT_CODES.map((t, i) => [t, i]));

/** Identifies a plan by everything rendering depends on that two compilations could disagree on. */
export function planSignature(plan: TargetPlan): string {
  return JSON.stringify([
    plan.key,
    plan.objectLabel,
    plan.families,
    plan.metrics.map((m) => [m.metric.configuration, m.metric.name, m.metric.family, m.slot]),
  ]);
}

/** The shard filter TargetRunner applies: unsharded fleets skip the hash. */
export function effectiveShard(spec: ShardSpec | undefined): ShardSpec | undefined {
  return spec && (spec.total > 1 || spec.index >= spec.total) ? spec : undefined;
}

export class PlanRenderer {
  private readonly metricIndex = new Map<CompiledMetric, number>();
  private readonly counts: number[] = [];
  /** The batch's fragments are encoded here, `used` bytes so far. */
  private out = Buffer.allocUnsafeSlow(256 * 1024);
  private used = 0;
  /** Event index the hooks attribute errors to. */
  private current = 0;
  private errors: [number, number, string, string][] = [];
  private duplicates: [number, string][] = [];
  private readonly hooks: EvaluationHooks;

  private constructor(
    readonly plan: TargetPlan,
    private readonly shard: ShardSpec | undefined,
  ) {
    plan.metrics.forEach((m, i) => this.metricIndex.set(m.metric, i));
    this.hooks = {
      onError: (metric, reason, message) => {
        this.errors.push([this.current, this.metricIndex.get(metric) ?? -1, reason, message]);
      },
      onDuplicate: (family) => {
        this.duplicates.push([this.current, family]);
      },
    };
  }

  /** Compiles the configurations again; a string explains why this thread's plan differs. */
  static build(spec: PlanSpec): PlanRenderer | string {
    const compiled = spec.configurations.map((c) => compileConfiguration(c.document, c.source));
    const plan = buildPlan(compiled).targets.get(spec.target);
    if (plan === undefined) return `no plan for ${spec.target} in this thread`;
    if (planSignature(plan) !== spec.signature)
      return `the plan for ${spec.target} compiles differently here`;
    return new PlanRenderer(plan, effectiveShard(spec.shard));
  }

  /** Whole lines (empty ones skipped); stops at the first bad line, packing what came before. */
  decode(bytes: Buffer, apiVersion: string, kind: string): PackedBatch {
    const meta: number[] = [];
    const ids: (string | null)[] = [];
    this.used = 0;
    const raw: unknown[] = [];
    this.errors = [];
    this.duplicates = [];
    this.current = 0;
    let error: string | undefined;
    let start = 0;
    while (start < bytes.length) {
      let nl = bytes.indexOf(NEWLINE, start);
      if (nl < 0) nl = bytes.length;
      if (nl > start) {
        const parsed = parseWatchLine(bytes.subarray(start, nl), apiVersion, kind);
        if (parsed.error !== undefined) {
          error = parsed.error;
          break;
        }
        const { type, object } = parsed.event;
        meta.push(CODE[type] ?? -1);
        if (type === "BOOKMARK" || type === "ERROR" || CODE[type] === undefined) {
          raw.push(CODE[type] === undefined ? parsed.event : object);
        } else {
          const md = object.metadata;
          ids.push(md.name, md.namespace ?? null, md.uid ?? null, md.resourceVersion ?? null);
          if (type !== "DELETED") this.render(object, meta);
        }
        this.current++;
      }
      start = nl + 1;
    }
    return {
      meta,
      ids,
      // Its own memory, so it can be transferred rather than copied.
      bytes: new Uint8Array(this.out.subarray(0, this.used)),
      raw,
      errors: this.errors,
      duplicates: this.duplicates,
      ...(error === undefined ? {} : { error }),
    };
  }

  /** Appends the fragment's UTF-8; returns its byte length. */
  private write(fragment: string): number {
    // At most 3 bytes per UTF-16 unit.
    const need = this.used + 3 * fragment.length;
    if (need > this.out.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.out.length));
      this.out.copy(grown, 0, 0, this.used);
      this.out = grown;
    }
    const n = this.out.write(fragment, this.used, "utf8");
    this.used += n;
    return n;
  }

  private render(object: KubeObject, meta: number[]): void {
    if (this.shard && objectIdentity(object) && !owns(this.shard, object)) {
      meta.push(0);
      return;
    }
    const fragments = renderObject(this.plan, object, this.hooks, this.counts);
    meta.push(1, fragments.length);
    for (let i = 0; i < fragments.length; i++) {
      const f = fragments[i];
      if (f === undefined) {
        meta.push(-1, 0);
      } else {
        meta.push(this.write(f), this.counts[i] ?? 0);
      }
    }
  }
}

/** The exporter's side of decode(): watch events whose `decoded` is a RenderedObject. */
export function unpackBatch(batch: PackedBatch, apiVersion: string, kind: string): DecodedBatch {
  const { meta, ids } = batch;
  const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
  const events: WatchEvent[] = [];
  const byEvent = new Map<
    number,
    { errors: [number, EvaluationErrorReason, string][]; duplicates: string[] }
  >();
  const extras = (i: number): { errors: [number, EvaluationErrorReason, string][]; duplicates: string[] } => {
    let e = byEvent.get(i);
    if (e === undefined) byEvent.set(i, (e = { errors: [], duplicates: [] }));
    return e;
  };
  for (const [i, metric, reason, message] of batch.errors) {
    extras(i).errors.push([metric, reason as EvaluationErrorReason, message]);
  }
  for (const [i, family] of batch.duplicates) extras(i).duplicates.push(family);
  let m = 0;
  let id = 0;
  let at = 0;
  let r = 0;
  for (let n = 0; m < meta.length; n++) {
    const code = meta[m++]!;
    const type = EVENT_CODES[code];
    if (type === undefined) {
      // A type this version does not know: passed on as it came (the reflector ignores it).
      events.push(batch.raw[r++] as WatchEvent);
      continue;
    }
    if (type === "BOOKMARK" || type === "ERROR") {
      events.push({ type, object: batch.raw[r++] as KubeObject });
      continue;
    }
    const metadata: ObjectMeta = { name: ids[id]! };
    const namespace = ids[id + 1];
    const uid = ids[id + 2];
    const resourceVersion = ids[id + 3];
    id += 4;
    if (namespace !== null && namespace !== undefined) metadata.namespace = namespace;
    if (uid !== null && uid !== undefined) metadata.uid = uid;
    if (resourceVersion !== null && resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
    const object: KubeObject = { apiVersion, kind, metadata };
    if (type === "DELETED") {
      events.push({ type, object });
      continue;
    }
    let decoded: RenderedObject;
    if (meta[m++] === 0) {
      decoded = { owned: false };
    } else {
      const slots = meta[m++]!;
      const fragments = new Array<string | undefined>(slots);
      const counts = new Array<number>(slots);
      for (let s = 0; s < slots; s++) {
        const length = meta[m++]!;
        counts[s] = meta[m++]!;
        if (length < 0) {
          fragments[s] = undefined;
        } else {
          fragments[s] = bytes.toString("latin1", at, at + length);
          at += length;
        }
      }
      const extra = byEvent.get(n);
      decoded = {
        owned: true,
        fragments,
        counts,
        ...(extra && extra.errors.length > 0 ? { errors: extra.errors } : {}),
        ...(extra && extra.duplicates.length > 0 ? { duplicates: extra.duplicates } : {}),
      };
    }
    events.push({ type, object, decoded });
  }
  return { events, ...(batch.error === undefined ? {} : { error: batch.error }) };
}
