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

/** Variadic path options also accept comma-separated lists (handy in CSM_CONFIG). */
export function collectPaths(value: string, previous: string[] | undefined): string[] {
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return [...(previous ?? []), ...parts];
}
