import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Real parsers as oracles: Prometheus' promtool and the strict OpenMetrics parser of the Python
 * client. Locally a missing tool skips with a visible notice; in CI (CI=true) it is a failure.
 */

function have(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0;
}

export const PYTHON = "/usr/bin/python3";
export const hasPromtool = have("promtool", ["--version"]);
export const hasOpenMetricsParser =
  existsSync(PYTHON) && have(PYTHON, ["-c", "import prometheus_client.openmetrics.parser"]);

export function requireTool(available: boolean, name: string): boolean {
  if (available) return true;
  if (process.env.CI) throw new Error(`${name} is required in CI but is not installed`);
  process.stderr.write(`NOTICE: ${name} not installed; skipping its checks (CI installs it)\n`);
  return false;
}

export interface ToolResult {
  ok: boolean;
  output: string;
}

/** `promtool check metrics`: parse errors fail; lint notes (e.g. `_total` gauges) are returned. */
export function promtoolCheck(text: string): ToolResult {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  const output = `${r.stdout}${r.stderr}`;
  // promtool exits 1 for lint problems too; a parse failure says "error while linting" / "parse".
  const parseError = /error while linting|parsing error/i.test(output) || (r.status !== 0 && r.status !== 3);
  return { ok: !parseError, output };
}

const OM_SCRIPT = `
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
n = 0
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        n += 1
print(n)
`;

/** Parse with the strict OpenMetrics parser; returns the sample count. */
export function openMetricsParse(text: string): ToolResult & { samples: number } {
  const r = spawnSync(PYTHON, ["-c", OM_SCRIPT], { input: text, encoding: "utf8" });
  const out = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0, output: out, samples: r.status === 0 ? Number(r.stdout.trim()) : -1 };
}
