import type { Command } from "commander";
import { loadConfigurations } from "../../config/load.js";
import { ManifestError } from "../../config/manifests.js";
import { formatDiagnostic } from "../../config/types.js";
import { buildPlan } from "../../engine/plan.js";
import { CliError, ExitCode } from "../exit.js";
import { collectPaths, option } from "../options.js";

interface LintOptions {
  config: string[];
  quiet?: boolean;
}

export async function runLint(opts: LintOptions): Promise<ExitCode> {
  let loaded;
  try {
    loaded = await loadConfigurations(opts.config);
  } catch (err) {
    if (err instanceof ManifestError) throw new CliError(`${err.file}: ${err.message}`);
    throw err;
  }
  const plan = buildPlan(loaded.configurations);
  const diagnostics = [
    ...loaded.diagnostics,
    ...loaded.configurations.flatMap((c) => c.diagnostics),
    ...plan.diagnostics,
  ].filter((d) => !(opts.quiet && d.severity === "warning"));
  for (const d of diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const metrics = loaded.configurations.reduce((n, c) => n + c.metrics.length, 0);
  process.stdout.write(
    `${loaded.configurations.length} configuration(s), ${metrics} valid metric(s): ${errors} error(s), ${warnings} warning(s)\n`,
  );
  return errors > 0 ? ExitCode.usage : ExitCode.ok;
}

export function registerLint(program: Command): Command {
  return program
    .command("lint")
    .description("validate MetricsConfiguration files and print every error and warning with its location")
    .addOption(
      option("-c, --config <path>", "MetricsConfiguration file or directory (repeatable, or comma-separated)")
        .argParser(collectPaths)
        .makeOptionMandatory(),
    )
    .addOption(option("-q, --quiet", "print errors only"))
    .addHelpText(
      "after",
      `
Each problem is printed as
  <severity>: <file>: configuration "<name>": metric "<metric>": <field>: <message>
Exit status: 0 when there are no errors (warnings allowed), 2 when there is any error.`,
    )
    .action(async (opts: LintOptions) => {
      process.exitCode = await runLint(opts);
    });
}
