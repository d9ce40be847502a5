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
