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

/** Message prefix shared by every syntax error so callers can show where the problem is. */
export function fail(source: string, position: number, message: string): never {
  throw new JsonPathError(`${message} at position ${position} in ${JSON.stringify(source)}`, position);
}

/**
 * Caps on what one path may cost (docs/jsonpath.md, "Limits"). Paths come from configurations and
 * data from objects that anyone with write access to the target resource controls, so neither a
 * clever path nor a huge or deeply nested object may make one evaluation hang or exhaust memory.
 */
export const PATH_LIMITS = {
  /** Characters of path source; longer paths are rejected when the configuration is loaded. */
  maxSourceLength: 4096,
  /** Results of one evaluation, and values in flight between two steps. */
  maxResults: 10_000,
  /** Values one evaluation may look at (recursive descent, filters, wildcards, unions). */
  maxVisits: 1_000_000,
  /** Levels of nesting a map or list may have to be written out as a label or parameter text. */
  maxFormatDepth: 1_000,
} as const;

/**
 * A path whose evaluation on this data went over a cap. The only exception a compiled path's
 * `evaluate` (and `formatResults`) throws; the engine reports it as an evaluation error.
 */
export class JsonPathLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonPathLimitError";
  }
}

/** Counts the work of one evaluation and throws JsonPathLimitError past the caps. */
export class Budget {
  private visits = 0;

  constructor(private readonly source: string) {}

  /** Charge `n` visited values. */
  visit(n = 1): void {
    this.visits += n;
    if (this.visits > PATH_LIMITS.maxVisits) {
      throw new JsonPathLimitError(
        `path ${JSON.stringify(this.source)} looked at more than ${PATH_LIMITS.maxVisits} values`,
      );
    }
  }

  /** Push one result, charging a visit and enforcing the result cap. */
  push(out: unknown[], value: unknown): void {
    out.push(value);
    this.visit();
    if (out.length > PATH_LIMITS.maxResults) tooManyResults(this.source);
  }
}

export function tooManyResults(source: string): never {
  throw new JsonPathLimitError(
    `path ${JSON.stringify(source)} gave more than ${PATH_LIMITS.maxResults} results`,
  );
}
