// Shared by the expression tests: evaluate a source with parameters given as a plain object.
import { compileExpression, ExpressionError } from "../src/expression/index.js";

export function run(source: string, params: Record<string, unknown> = {}): unknown {
  return compileExpression(source).evaluate(new Map(Object.entries(params)));
}

/** The ExpressionError thrown by compiling or evaluating, or a failure when there is none. */
export function errorOf(source: string, params: Record<string, unknown> = {}): ExpressionError {
  try {
    run(source, params);
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw new Error(`expected ExpressionError, got ${String(e)}`);
  }
  throw new Error(`expected ${source} to fail`);
}
