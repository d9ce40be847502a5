import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit.js";
import { option, parseNonNegativeInt, parsePort } from "../options.js";
import { LOG_LEVELS } from "../../log/logger.js";
import { logSettings, onShutdownSignal } from "./serve.js";

interface DemoOptions {
  host: string;
  port: number;
  telemetryPort: number;
  apiPort: number;
  synthetic: number;
  activity: boolean;
  logLevel: string;
  logFormat: string;
}

/** The package root, wherever it is installed: seeds ship with it (deploy/, examples/, ...). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export function demoSeedPaths(root = PACKAGE_ROOT): string[] {
  return [
    join(root, "deploy", "crds", "metricsconfigurations.metrics.appscode.com.yaml"),
    join(root, "deploy", "crds", "kubestash"),
    join(root, "metricsconfigurations", "kubestash"),
    join(root, "examples", "kubestash"),
  ];
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const logging = logSettings(opts);
  const [{ createLogger }, { startApiServer }, { startActivity }, { startExporter }, { VERSION }] =
    await Promise.all([
      import("../../log/logger.js"),
      import("../../sim/index.js"),
      import("../../sim/activity.js"),
      import("../../exporter/exporter.js"),
      import("../../version.js"),
    ]);
  const logger = createLogger(logging);
  let api;
  try {
    api = await startApiServer({
      host: "127.0.0.1",
      port: opts.apiPort,
      seedPaths: demoSeedPaths(),
      ...(opts.synthetic > 0 ? { synthetic: opts.synthetic } : {}),
    });
  } catch (err) {
    throw new CliError(
      `embedded API server: ${err instanceof Error ? err.message : String(err)}`,
      ExitCode.runtime,
    );
  }
  const kubeconfig = join(tmpdir(), `crd-state-metrics-demo-${api.port}.kubeconfig`);
  writeFileSync(kubeconfig, api.kubeconfig("crd-state-metrics-demo"), { mode: 0o600 });
  let exporter;
  try {
    exporter = await startExporter({
      kube: { kubeconfig },
      logger,
      version: VERSION,
      host: opts.host,
      port: opts.port,
      telemetryPort: opts.telemetryPort,
      // Short watch timeouts keep the demo's list/watch cycle visible in the telemetry.
      tuning: { watchTimeoutSeconds: [60, 120] },
    });
  } catch (err) {
    await api.close();
    throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.runtime);
  }
  await exporter.whenReady();
  const activity = opts.activity
    ? startActivity(api, {
        log: (line) => {
          logger.debug(line);
        },
      })
    : undefined;
  const banner = [
    "",
    "crd-state-metrics demo is running",
    `  state metrics:   ${exporter.metrics.url}/metrics`,
    `  own metrics:     ${exporter.telemetryServer.url}/metrics`,
    `  API server:      ${api.url}  (embedded; ${activity ? "live activity on" : "activity off"})`,
    "  try:",
    `    curl -s ${exporter.metrics.url}/metrics | grep core_kubestash_com_backupsession_phase`,
    `    kubectl --kubeconfig ${kubeconfig} get backupsessions.core.kubestash.com,metricsconfigurations -A`,
    "  Ctrl-C to stop.",
    "",
  ].join("\n");
  process.stdout.write(`${banner}\n`);
  onShutdownSignal(async () => {
    activity?.stop();
    await exporter.shutdown();
    await api.close();
  });
}

export function registerDemo(program: Command): Command {
  return program
    .command("demo")
    .description("run the exporter against an embedded Kubernetes API server seeded with KubeStash objects")
    .addOption(
      option("--host <address>", "address for the metrics and telemetry servers").default("127.0.0.1"),
    )
    .addOption(option("--port <port>", "port of the state metrics server").argParser(parsePort).default(8080))
    .addOption(
      option("--telemetry-port <port>", "port of the exporter's own metrics")
        .argParser(parsePort)
        .default(8081),
    )
    .addOption(
      option("--api-port <port>", "port of the embedded API server on 127.0.0.1 (0: any free port)")
        .argParser(parsePort)
        .default(0),
    )
    .addOption(
      option("--synthetic <n>", "also generate N synthetic KubeStash objects (SPEC §11 estate)")
        .argParser(parseNonNegativeInt)
        .default(0),
    )
    .addOption(option("--no-activity", "freeze the estate: no new backups, restores or growth"))
    .addOption(option("--log-level <level>", `log level: ${LOG_LEVELS.join(", ")}`).default("info"))
    .addOption(option("--log-format <format>", "json or text").default("text"))
    .addHelpText(
      "after",
      `
Seeds the embedded API server with deploy/crds (MetricsConfiguration and KubeStash CRDs),
metricsconfigurations/kubestash and examples/kubestash, runs the exporter against it in the
same process, and keeps the estate alive: BackupSessions and Snapshots move Pending → Running
→ Succeeded or Failed, repositories grow, RestoreSessions come and go.`,
    )
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}
