/**
 * Plain accessor closures for the paths that dominate real configurations: chains of fields,
 * indices and `[*]` (every path in the KubeStash and Stash MetricsConfigurations). They run per
 * object per metric, so they avoid jsonpath-plus's string handling and per-call allocations.
 * Semantics are those of the reference evaluator, which test/jsonpath.differential checks.
 */
import type { PathAst, Step } from "./ast.js";
import { PATH_LIMITS, tooManyResults } from "./errors.js";
import { isMap } from "./native.js";

type Emit = (value: unknown, out: unknown[]) => void;
type FastStep = Extract<Step, { kind: "field" | "index" | "each" }>;

function isFastStep(step: Step): step is FastStep {
  return step.kind === "field" || step.kind === "index" || step.kind === "each";
}

/** Follows a run of field names; undefined when one is missing. */
function followFields(value: unknown, names: readonly string[]): { value: unknown } | undefined {
  let current = value;
  for (const name of names) {
    if (!isMap(current) || !Object.hasOwn(current, name)) return undefined;
    current = current[name];
  }
  return { value: current };
}

/**
 * `source` only names the path in limit errors. Without unions or filters, results cannot outnumber
 * the values in the object, so the result cap is checked once, at the end.
 */
export function compileFast(ast: PathAst, source = "<path>"): ((root: unknown) => unknown[]) | undefined {
  const steps = ast.steps;
  if (!steps.every(isFastStep)) return undefined;
  if (steps.every((s) => s.kind === "field")) {
    const names = steps.map((s) => s.name);
    if (names.length === 1) {
      const name = names[0]!;
      return (root) => (isMap(root) && Object.hasOwn(root, name) ? [root[name]] : []);
    }
    return (root) => {
      const found = followFields(root, names);
      return found === undefined ? [] : [found.value];
    };
  }
  let emit: Emit = (value, out) => {
    out.push(value);
  };
  let i = steps.length - 1;
  while (i >= 0) {
    const step = steps[i]!;
    const next = emit;
    if (step.kind === "field") {
      // Fold a run of fields into one closure: fewer calls per object.
      const names: string[] = [];
      while (i >= 0) {
        const s = steps[i]!;
        if (s.kind !== "field") break;
        names.unshift(s.name);
        i--;
      }
      emit = (value, out) => {
        const found = followFields(value, names);
        if (found !== undefined) next(found.value, out);
      };
      continue;
    }
    if (step.kind === "index") {
      const index = step.index;
      emit = (value, out) => {
        if (!Array.isArray(value)) return;
        const at = index < 0 ? index + value.length : index;
        if (at >= 0 && at < value.length) next(value[at], out);
      };
    } else {
      emit = (value, out) => {
        if (!Array.isArray(value)) return;
        for (const element of value as unknown[]) next(element, out);
      };
    }
    i--;
  }
  const run = emit;
  return (root) => {
    const out: unknown[] = [];
    run(root, out);
    if (out.length > PATH_LIMITS.maxResults) tooManyResults(source);
    return out;
  };
}
