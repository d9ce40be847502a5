/**
 * The safe expression language of SPEC §5 (govaluate-style, as Panopticon configurations use).
 * Public API of this folder. (Interface fixed first; implementation in progress.)
 */

/** The value of a parameter whose path had no result; equal to '', 'nil' and itself only. */
export const ABSENT: unique symbol = Symbol("absent");
export type Absent = typeof ABSENT;

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = "ExpressionError";
  }
}

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

export function compileExpression(source: string, _options: CompileOptions = {}): CompiledExpression {
  throw new ExpressionError(`not implemented: ${source}`);
}

/** RFC 3339 (fractional seconds allowed) → Unix seconds; undefined when it does not parse. */
export function parseRfc3339(_text: string): number | undefined {
  return undefined;
}
