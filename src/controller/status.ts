import type { Diagnostic } from "../config/types.js";
import type { WithheldState } from "./guard.js";

/**
 * What the controller reports about each MetricsConfiguration (SPEC §7): conditions for our CRD's
 * status subresource, or the same facts as Events where the installed CRD has no status.
 */

export type ConditionType = "Ready" | "Invalid" | "TargetNotFound" | "CardinalityLimited";

export interface Condition {
  type: ConditionType;
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ConfigurationState {
  name: string;
  generation?: number;
  diagnostics: readonly Diagnostic[];
  declaredMetrics: number;
  validMetrics: number;
  /** undefined while not yet resolved. */
  targetFound: boolean | undefined;
  targetResource?: string;
  synced: boolean;
  series: number;
  /** Most recent evaluation errors, newest last. */
  lastErrors: readonly string[];
  /** Why the target kind is refused (`--deny-kinds`, `--allow-kinds`, Secrets by default). */
  denied?: string;
  /** What the series limits withhold (cardinality guard), when anything. */
  withheld?: WithheldState;
}

function summarize(ds: readonly Diagnostic[]): string {
  const shown = ds
    .slice(0, 3)
    .map((d) => `${d.metric === undefined ? "" : `metric "${d.metric}": `}${d.field}: ${d.message}`);
  return ds.length > 3 ? `${shown.join("; ")}; and ${ds.length - 3} more` : shown.join("; ");
}

export function conditionsFor(state: ConfigurationState): Condition[] {
  const errors = state.diagnostics.filter((d) => d.severity === "error");
  const invalid: Condition = state.denied
    ? { type: "Invalid", status: "True", reason: "TargetDenied", message: state.denied }
    : errors.length === 0
      ? { type: "Invalid", status: "False", reason: "Valid", message: "every metric is valid" }
      : {
          type: "Invalid",
          status: "True",
          reason: state.validMetrics === 0 ? "NoValidMetric" : "InvalidMetrics",
          message: `${errors.length} error(s); ${state.validMetrics} of ${state.declaredMetrics} metric(s) served: ${summarize(errors)}`,
        };
  const notFound: Condition =
    state.targetFound === false
      ? {
          type: "TargetNotFound",
          status: "True",
          reason: "ResourceNotServed",
          message: "the target apiVersion/kind is not served by the API server (is its CRD installed?)",
        }
      : {
          type: "TargetNotFound",
          status: "False",
          reason: "ResourceServed",
          message: state.targetResource ?? "",
        };
  let ready: Condition;
  if (state.denied) {
    ready = { type: "Ready", status: "False", reason: "TargetDenied", message: state.denied };
  } else if (state.validMetrics === 0) {
    ready = {
      type: "Ready",
      status: "False",
      reason: "NoValidMetric",
      message: "no metric of this configuration is valid",
    };
  } else if (state.targetFound !== true) {
    ready = { type: "Ready", status: "False", reason: "TargetNotFound", message: notFound.message };
  } else if (!state.synced) {
    ready = { type: "Ready", status: "False", reason: "Syncing", message: "listing the target resource" };
  } else {
    ready = {
      type: "Ready",
      status: "True",
      reason: "Serving",
      message: "target listed and watched; series served",
    };
  }
  const w = state.withheld;
  const cardinality: Condition = w
    ? {
        type: "CardinalityLimited",
        status: "True",
        reason: w.global ? "GlobalSeriesLimit" : "SeriesLimit",
        message: w.global
          ? `${w.series} series of ${w.objects} object(s) withheld: the exporter reached --max-series`
          : `${w.series} series of ${w.objects} object(s) withheld beyond --max-series-per-configuration=${w.limit}`,
      }
    : {
        type: "CardinalityLimited",
        status: "False",
        reason: "WithinLimits",
        message: "no series dropped",
      };
  return [ready, invalid, notFound, cardinality].map((c) =>
    state.generation === undefined ? c : { ...c, observedGeneration: state.generation },
  );
}

/** Keep lastTransitionTime from the previous conditions when a condition's status is unchanged. */
export function withTransitionTimes(
  next: Condition[],
  previous: readonly Condition[] | undefined,
  now: Date,
): Condition[] {
  const stamp = now.toISOString().replace(/\.\d+Z$/, "Z");
  return next.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : stamp,
    };
  });
}

export function statusBody(state: ConfigurationState, conditions: Condition[]): Record<string, unknown> {
  return {
    ...(state.generation === undefined ? {} : { observedGeneration: state.generation }),
    seriesCount: state.series,
    conditions,
    lastErrors: [...state.lastErrors],
  };
}

/** Comparable form: what matters for deciding to write status again (not timestamps). */
export function statusFingerprint(state: ConfigurationState, conditions: readonly Condition[]): string {
  return JSON.stringify([
    conditions.map((c) => [c.type, c.status, c.reason, c.message]),
    state.lastErrors,
    state.generation,
  ]);
}
