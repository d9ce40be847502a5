/**
 * The Kubernetes (kubectl / client-go) JSONPath dialect, SPEC §4.
 * Public API of this folder; everything else in it is internal.
 * (Interface fixed first so config/engine can build on it; implementation in progress.)
 */

/** A path that is not part of the dialect, or does not parse. `position` is a 0-based offset. */
export class JsonPathError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = "JsonPathError";
  }
}

export interface CompiledPath {
  /** The path as written in the configuration. */
  readonly source: string;
  /** Every result in document order; `[]` when nothing matches. Never throws for any input data. */
  evaluate(root: unknown): unknown[];
}

/** Parse, validate and compile once; throws JsonPathError with a precise message. */
export function compilePath(source: string): CompiledPath {
  throw new JsonPathError(`not implemented: ${source}`);
}

/**
 * Row-relative paths (SPEC §3.2): when `path` begins with `<arrayPath>[*]`, the remainder as a
 * path to evaluate against one element (`"."` when nothing remains); otherwise undefined.
 */
export function relativeToArray(_arrayPath: string, _path: string): string | undefined {
  return undefined;
}

/**
 * kubectl's jsonpath text output for a result list: strings as is, booleans, numbers in shortest
 * form, maps and lists as compact JSON, joined with one space; null results are skipped.
 * Undefined when nothing is left to print.
 */
export function formatResults(_values: readonly unknown[]): string | undefined {
  return undefined;
}
