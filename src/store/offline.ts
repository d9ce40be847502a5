import type { CompiledConfiguration } from "../config/compiled.js";
import type { Diagnostic } from "../config/types.js";
import { objectIdentity, renderObject, type EvaluationHooks } from "../engine/evaluate.js";
import { buildPlan, targetKey, type Plan } from "../engine/plan.js";
import type { ExpositionFormat } from "../exposition/format.js";
import { MetricStore } from "./store.js";

/**
 * Offline rendering: configurations and objects in, exposition out — through the same plan,
 * evaluation and store that serve live, so `render` prints what `serve` would serve.
 */

export interface OfflineObject {
  readonly value: unknown;
  /** For messages: where the object came from. */
  readonly origin?: string;
}

export interface OfflineResult {
  readonly plan: Plan;
  readonly store: MetricStore;
  /** Objects that were skipped, and why (no apiVersion/kind/name). */
  readonly skipped: readonly { origin: string; reason: string }[];
  readonly diagnostics: readonly Diagnostic[];
}

function typeOf(obj: unknown): { apiVersion: string; kind: string } | undefined {
  if (typeof obj !== "object" || obj === null) return undefined;
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  return typeof apiVersion === "string" && typeof kind === "string" ? { apiVersion, kind } : undefined;
}

export function populateOffline(
  configurations: readonly CompiledConfiguration[],
  objects: readonly OfflineObject[],
  hooks: EvaluationHooks = {},
): OfflineResult {
  const plan = buildPlan(configurations);
  const store = new MetricStore();
  store.setFamilies(plan.families.values());
  const skipped: { origin: string; reason: string }[] = [];
  objects.forEach((o, i) => {
    const origin = o.origin ?? `object #${i}`;
    const t = typeOf(o.value);
    if (!t) {
      skipped.push({ origin, reason: "no apiVersion/kind" });
      return;
    }
    const id = objectIdentity(o.value);
    if (!id) {
      skipped.push({ origin, reason: "no metadata.name" });
      return;
    }
    const key = targetKey(t.apiVersion, t.kind);
    const target = plan.targets.get(key);
    if (!target) return; // no configuration targets this kind: not an error
    store.upsert(key, id, target.families, renderObject(target, o.value, hooks));
  });
  return {
    plan,
    store,
    skipped,
    diagnostics: [...configurations.flatMap((c) => c.diagnostics), ...plan.diagnostics],
  };
}

export function renderOffline(
  configurations: readonly CompiledConfiguration[],
  objects: readonly OfflineObject[],
  format: ExpositionFormat,
  hooks: EvaluationHooks = {},
): string {
  return populateOffline(configurations, objects, hooks).store.render(format);
}
