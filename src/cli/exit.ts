/** Exit codes of the command-line contract (SPEC §8). */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error meant for the person at the terminal: its message is printed as is, never with a
 * stack trace, and the process exits with its code.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.usage,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Print an error the way the CLI promises: one message, no stack, the right exit code. */
export function reportFatal(err: unknown): ExitCode {
  if (err instanceof CliError) {
    process.stderr.write(`crd-state-metrics: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`crd-state-metrics: ${message}\n`);
  if (process.env.CSM_DEBUG) process.stderr.write(`${err instanceof Error ? (err.stack ?? "") : ""}\n`);
  return ExitCode.runtime;
}
