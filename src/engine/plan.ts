import type { CompiledConfiguration, CompiledMetric, TargetRef } from "../config/compiled.js";
import type { Diagnostic } from "../config/types.js";
import { objectLabelName } from "../config/naming.js";

/**
 * The set of configurations → one plan: family table (SPEC §3.7 merging and conflicts) and, per
 * target apiVersion+kind, the metrics to evaluate for each of its objects.
 */

export interface FamilyInfo {
  readonly name: string;
  readonly help: string;
  /** Configurations contributing to this family, winner first. */
  readonly configurations: readonly string[];
}

export interface TargetPlan {
  /** `apiVersion/kind`, e.g. `core.kubestash.com/v1alpha1/BackupSession`. */
  readonly key: string;
  readonly target: TargetRef;
  /** Label naming the object itself (`backupsession`). */
  readonly objectLabel: string;
  /** Distinct families this target contributes to, in first-seen order; slots of a rendering. */
  readonly families: readonly string[];
  readonly metrics: readonly PlannedMetric[];
}

export interface PlannedMetric {
  readonly metric: CompiledMetric;
  /** Index into TargetPlan.families. */
  readonly slot: number;
}

export interface Plan {
  readonly families: ReadonlyMap<string, FamilyInfo>;
  readonly targets: ReadonlyMap<string, TargetPlan>;
  /** Family conflicts, attributed to the configuration that lost (SPEC §3.7). */
  readonly diagnostics: readonly Diagnostic[];
}

export function targetKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

/** Older first; files (no creation time) count as oldest; then by name. */
function precedence(a: CompiledConfiguration, b: CompiledConfiguration): number {
  const ta = a.source.creationTimestamp ?? "";
  const tb = b.source.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function buildPlan(configurations: readonly CompiledConfiguration[]): Plan {
  const ordered = [...configurations].sort(precedence);
  const families = new Map<string, { name: string; help: string; configurations: string[] }>();
  const diagnostics: Diagnostic[] = [];
  const targets = new Map<string, { target: TargetRef; families: string[]; metrics: PlannedMetric[] }>();

  for (const config of ordered) {
    if (!config.target) continue;
    for (const metric of config.metrics) {
      const existing = families.get(metric.family);
      if (existing) {
        if (existing.help !== metric.help) {
          diagnostics.push({
            severity: "error",
            ...(config.source.file === undefined ? {} : { file: config.source.file }),
            configuration: config.name,
            metric: metric.name,
            field: "help",
            message: `family "${metric.family}" is already defined by configuration "${existing.configurations[0] ?? ""}" with different help text; this metric is not served`,
          });
          continue;
        }
        if (!existing.configurations.includes(config.name)) existing.configurations.push(config.name);
      } else {
        families.set(metric.family, {
          name: metric.family,
          help: metric.help,
          configurations: [config.name],
        });
      }
      const key = targetKey(config.target.apiVersion, config.target.kind);
      let t = targets.get(key);
      if (!t) {
        t = { target: config.target, families: [], metrics: [] };
        targets.set(key, t);
      }
      let slot = t.families.indexOf(metric.family);
      if (slot < 0) slot = t.families.push(metric.family) - 1;
      t.metrics.push({ metric, slot });
    }
  }

  const plans = new Map<string, TargetPlan>();
  for (const [key, t] of targets) {
    plans.set(key, { key, objectLabel: objectLabelName(t.target.kind), ...t });
  }
  return { families, targets: plans, diagnostics };
}
