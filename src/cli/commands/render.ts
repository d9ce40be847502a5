import type { Command } from "commander";
import { loadConfigurations } from "../../config/load.js";
import { loadManifests, ManifestError } from "../../config/manifests.js";
import { formatDiagnostic } from "../../config/types.js";
import type { ExpositionFormat } from "../../exposition/format.js";
import { populateOffline } from "../../store/offline.js";
import { CliError, ExitCode } from "../exit.js";
import { collectPaths, option } from "../options.js";

interface RenderOptions {
  config: string[];
  file: string[];
  format: string;
}

export async function runRender(opts: RenderOptions): Promise<ExitCode> {
  if (opts.format !== "text" && opts.format !== "openmetrics") {
    throw new CliError(`--format must be "text" or "openmetrics", got "${opts.format}"`);
  }
  const format: ExpositionFormat = opts.format;
  let loaded;
  let objects;
  try {
    loaded = await loadConfigurations(opts.config);
    objects = await loadManifests(opts.file);
  } catch (err) {
    if (err instanceof ManifestError) throw new CliError(`${err.file}: ${err.message}`);
    throw err;
  }
  const result = populateOffline(
    loaded.configurations,
    objects.map((m) => ({ value: m.value, origin: `${m.file}#${m.document}` })),
    {
      onError: (metric, _reason, message) => {
        process.stderr.write(
          `warning: configuration "${metric.configuration}": metric "${metric.name}": ${message}\n`,
        );
      },
    },
  );
  const diagnostics = [...loaded.diagnostics, ...result.diagnostics];
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  for (const s of result.skipped) process.stderr.write(`warning: ${s.origin}: object skipped: ${s.reason}\n`);
  for (const piece of result.store.exposition(format)) process.stdout.write(piece);
  return diagnostics.some((d) => d.severity === "error") ? ExitCode.usage : ExitCode.ok;
}

export function registerRender(program: Command): Command {
  return program
    .command("render")
    .description(
      "offline: evaluate configurations against objects read from files and print the exposition exactly as serve would serve it",
    )
    .addOption(
      option("-c, --config <path>", "MetricsConfiguration file or directory (repeatable, or comma-separated)")
        .argParser(collectPaths)
        .makeOptionMandatory(),
    )
    .addOption(
      option(
        "-f, --file <path>",
        "object file or directory: YAML/JSON, multi-document, kind: List (repeatable)",
      )
        .argParser(collectPaths)
        .makeOptionMandatory(),
    )
    .addOption(option("--format <format>", "text (Prometheus 0.0.4) or openmetrics").default("text"))
    .addHelpText(
      "after",
      `
Problems in configurations are printed to stderr; invalid metrics are skipped and the rest is
rendered. Exit status: 0 ok, 2 invalid usage, unreadable input or a configuration error.

Example:
  crd-state-metrics render -c metricsconfigurations/kubestash -f examples/kubestash`,
    )
    .action(async (opts: RenderOptions) => {
      process.exitCode = await runRender(opts);
    });
}
