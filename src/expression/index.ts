/**
 * The safe expression language of SPEC §5 (govaluate-style, as Panopticon configurations use).
 * Public API of this folder; the language itself is described in docs/expressions.md.
 * Nothing here evaluates JavaScript: sources are parsed into a tree and interpreted.
 */
import { check } from "./check.js";
import { Evaluator } from "./evaluate.js";
import { parse } from "./parser.js";
import { ExpressionError } from "./values.js";

export { ABSENT, type Absent, ExpressionError, toNumber } from "./values.js";
export { parseBytes } from "./bytes.js";
export { parseGoDuration } from "./duration.js";
export { parseQuantity } from "./quantity.js";
export { parseRfc3339 } from "./time.js";

/** Limits; exported so that docs, lint messages and tests quote the same numbers. */
export const LIMITS = {
  /** Characters of expression source. */
  maxSourceLength: 4096,
  /** Parentheses, prefix operators, calls and conditionals inside one another. */
  maxNestingDepth: 64,
  /** Operators applied to the results of operators, e.g. a chain a + b + c + … */
  maxTreeHeight: 256,
  /** Node visits per evaluation (IN list items and deep-equality comparisons count too). */
  maxSteps: 10_000,
} as const;

export interface CompileOptions {
  /** When given, a reference to any other parameter is a load-time error. */
  readonly knownParams?: ReadonlySet<string>;
}

export interface CompiledExpression {
  readonly source: string;
  /** Names of the parameters the expression reads. */
  readonly params: ReadonlySet<string>;
  /**
   * Evaluate with parameter bindings (strings, numbers, booleans, structures or ABSENT).
   * Bounded in steps; throws ExpressionError on any failure, never anything else.
   */
  evaluate(params: ReadonlyMap<string, unknown>): unknown;
}

export function compileExpression(source: string, options: CompileOptions = {}): CompiledExpression {
  if (typeof source !== "string") throw new ExpressionError("expression must be a string");
  if (source.length > LIMITS.maxSourceLength) {
    throw new ExpressionError(
      `expression is ${source.length} characters long, the limit is ${LIMITS.maxSourceLength}`,
    );
  }
  const tree = guard(() => parse(source, { maxDepth: LIMITS.maxNestingDepth }));
  const params = guard(() =>
    check(tree, {
      ...(options.knownParams === undefined ? {} : { knownParams: options.knownParams }),
      maxHeight: LIMITS.maxTreeHeight,
    }),
  );
  const evaluator = new Evaluator(tree, LIMITS.maxSteps);
  return {
    source,
    params,
    evaluate: (bindings) => guard(() => evaluator.run(bindings)),
  };
}

/** Any failure surfaces as ExpressionError (a stack overflow or a bug included). */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ExpressionError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new ExpressionError(`internal error: ${why}`);
  }
}
