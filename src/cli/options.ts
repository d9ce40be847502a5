import { Option } from "commander";

/** `--telemetry-port` → `CSM_TELEMETRY_PORT`: every flag can come from the environment (SPEC §8). */
export function envNameFor(flags: string): string {
  const long = /--([a-z0-9-]+)/i.exec(flags)?.[1];
  if (!long) throw new Error(`option ${flags} has no long form`);
  return `CSM_${long.replace(/-/g, "_").toUpperCase()}`;
}

/** A commander Option wired to its CSM_ environment variable. */
export function option(flags: string, description: string): Option {
  return new Option(flags, description).env(envNameFor(flags));
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${value}"`);
  return n;
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** `--decode-threads`: a count, or `auto` (resolved by resolveDecodeThreads). */
export function parseDecodeThreads(value: string): number | "auto" {
  if (value === "auto") return "auto";
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new Error(`expected auto or 0..64, got "${value}"`);
  return n;
}

/**
 * `auto`: decode threads only with four or more cores, leaving two for the exporter's own thread
 * and V8's helpers. With fewer, threads add hand-off costs and compete for the same cores: on
 * two cores they measured no faster than none (docs/performance.md, "Decode threads").
 */
export function resolveDecodeThreads(value: number | "auto" | undefined, cores: number): number {
  if (typeof value === "number") return value;
  return cores >= 4 ? Math.min(3, cores - 2) : 0;
}

/** Variadic path options also accept comma-separated lists (handy in CSM_CONFIG). */
export function collectPaths(value: string, previous: string[] | undefined): string[] {
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return [...(previous ?? []), ...parts];
}
