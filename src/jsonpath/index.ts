/**
 * The Kubernetes (kubectl / client-go) JSONPath dialect, SPEC §4; docs/jsonpath.md describes it
 * for users. Public API of this folder; everything else in it is internal.
 */
import { stepsEqual, type PathAst } from "./ast.js";
import { compileFast } from "./fast.js";
import { parsePath } from "./parse.js";
import { printSteps } from "./print.js";
import { compileReference } from "./translate.js";
import { validatePath } from "./validate.js";

import { fail, JsonPathError, JsonPathLimitError, PATH_LIMITS } from "./errors.js";

export { JsonPathError, JsonPathLimitError, PATH_LIMITS };
export { formatResults } from "./format.js";

export interface CompiledPath {
  /** The path as written in the configuration. */
  readonly source: string;
  /**
   * Every result in document order; `[]` when nothing matches. Throws nothing but
   * JsonPathLimitError, when this data would make the path cost more than PATH_LIMITS allow.
   */
  evaluate(root: unknown): unknown[];
}

/** Parse and validate; throws JsonPathError naming the problem and its position. */
export function parseValidated(source: string): PathAst {
  if (source.length > PATH_LIMITS.maxSourceLength) {
    fail(
      source.slice(0, 40) + "…",
      PATH_LIMITS.maxSourceLength,
      `path is ${source.length} characters long, the limit is ${PATH_LIMITS.maxSourceLength}`,
    );
  }
  const ast = parsePath(source);
  validatePath(source, ast);
  return ast;
}

/** Parse, validate and compile once; throws JsonPathError with a precise message. */
export function compilePath(source: string): CompiledPath {
  const ast = parseValidated(source);
  // Simple paths get plain accessors; the rest goes through the jsonpath-plus translation.
  const evaluate = compileFast(ast, source) ?? compileReference(ast, source);
  return { source, evaluate };
}

/**
 * Row-relative paths (SPEC §3.2): when `path` begins with `<arrayPath>[*]`, the remainder as a
 * path to evaluate against one element (`"."` when nothing remains); otherwise undefined.
 * Paths are compared as syntax trees, so `{.a}`, `$.a` and `['a']` are the same prefix.
 * Invalid paths give undefined: compiling each path on its own reports them, once, where they are.
 */
export function relativeToArray(arrayPath: string, path: string): string | undefined {
  let prefix: PathAst["steps"];
  let steps: PathAst["steps"];
  try {
    prefix = parseValidated(arrayPath).steps;
    steps = parseValidated(path).steps;
  } catch (err) {
    if (err instanceof JsonPathError) return undefined;
    throw err;
  }
  if (steps.length <= prefix.length || steps[prefix.length]?.kind !== "each") return undefined;
  if (!stepsEqual(prefix, steps.slice(0, prefix.length))) return undefined;
  return printSteps(steps.slice(prefix.length + 1));
}
