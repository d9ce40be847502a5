import type { Command } from "commander";
import { CliError, ExitCode } from "../exit.js";
import { collectPaths, option, parseNonNegativeInt, parsePort } from "../options.js";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "../../log/logger.js";

export interface ServeOptions {
  kubeconfig?: string;
  context?: string;
  host: string;
  port: number;
  telemetryHost?: string;
  telemetryPort: number;
  config?: string[];
  namespaces?: string[];
  logLevel: string;
  logFormat: string;
  shard?: number;
  totalShards?: number;
  pod?: string;
  podNamespace?: string;
  auth?: string;
  authTokenFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  denyKinds?: string[];
  allowKinds?: string[];
  maxSeriesPerConfiguration?: number;
  maxSeries?: number;
  storeCompression?: string;
}

/** Auth, TLS, kinds and series limits (docs/security.md); usage errors exit 2. */
export async function accessSettings(
  opts: Pick<
    ServeOptions,
    | "auth"
    | "authTokenFile"
    | "tlsCertFile"
    | "tlsKeyFile"
    | "denyKinds"
    | "allowKinds"
    | "maxSeriesPerConfiguration"
    | "maxSeries"
  >,
): Promise<{
  auth?: { tokenFile: string } | { kubernetes: true };
  tls?: { certFile: string; keyFile: string };
  kinds: import("../../controller/kinds.js").KindPolicy;
  limits: { perConfiguration?: number; global?: number };
}> {
  const { KindPolicy, KindSyntaxError } = await import("../../controller/kinds.js");
  let auth: { tokenFile: string } | { kubernetes: true } | undefined;
  const mode = opts.auth ?? (opts.authTokenFile ? "token-file" : "none");
  if (mode === "kubernetes") {
    if (opts.authTokenFile) throw new CliError("--auth kubernetes and --auth-token-file are exclusive");
    auth = { kubernetes: true };
  } else if (mode === "token-file") {
    if (!opts.authTokenFile) throw new CliError("--auth token-file needs --auth-token-file PATH");
    auth = { tokenFile: opts.authTokenFile };
  } else if (mode !== "none") {
    throw new CliError(`--auth must be "none", "token-file" or "kubernetes", got "${mode}"`);
  } else if (opts.authTokenFile) {
    throw new CliError("--auth none and --auth-token-file contradict each other");
  }
  if ((opts.tlsCertFile === undefined) !== (opts.tlsKeyFile === undefined)) {
    throw new CliError("--tls-cert-file and --tls-key-file go together");
  }
  let kinds;
  try {
    kinds = new KindPolicy({ deny: opts.denyKinds ?? [], allow: opts.allowKinds ?? [] });
  } catch (err) {
    if (err instanceof KindSyntaxError) throw new CliError(`--deny-kinds/--allow-kinds: ${err.message}`);
    throw err;
  }
  if (opts.maxSeriesPerConfiguration === 0 || opts.maxSeries === 0) {
    throw new CliError("--max-series-per-configuration and --max-series must be positive");
  }
  return {
    ...(auth ? { auth } : {}),
    ...(opts.tlsCertFile && opts.tlsKeyFile
      ? { tls: { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile } }
      : {}),
    kinds,
    limits: {
      ...(opts.maxSeriesPerConfiguration === undefined
        ? {}
        : { perConfiguration: opts.maxSeriesPerConfiguration }),
      ...(opts.maxSeries === undefined ? {} : { global: opts.maxSeries }),
    },
  };
}

/** Static (`--shard`/`--total-shards`) or automatic (`--pod`/`--pod-namespace`) sharding; usage errors exit 2. */
export function shardSettings(opts: Pick<ServeOptions, "shard" | "totalShards" | "pod" | "podNamespace">): {
  shard?: { index: number; total: number };
  autoShard?: { pod: string; namespace: string };
} {
  const manual = opts.shard !== undefined || opts.totalShards !== undefined;
  const auto = opts.pod !== undefined || opts.podNamespace !== undefined;
  if (manual && auto) throw new CliError("--shard/--total-shards and --pod/--pod-namespace are exclusive");
  if (auto) {
    if (!opts.pod || !opts.podNamespace) throw new CliError("--pod and --pod-namespace go together");
    if (!/^.+-\d+$/.test(opts.pod)) {
      throw new CliError(`--pod "${opts.pod}" is not a StatefulSet pod name (<statefulset>-<ordinal>)`);
    }
    return { autoShard: { pod: opts.pod, namespace: opts.podNamespace } };
  }
  if (!manual) return {};
  const index = opts.shard ?? 0;
  const total = opts.totalShards ?? 1;
  if (total < 1) throw new CliError("--total-shards must be at least 1");
  if (index >= total) throw new CliError(`--shard must be below --total-shards (${index} >= ${total})`);
  return { shard: { index, total } };
}

export function logSettings(opts: { logLevel: string; logFormat: string }): {
  level: LogLevel;
  format: LogFormat;
} {
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${opts.logLevel}"`);
  }
  if (opts.logFormat !== "json" && opts.logFormat !== "text") {
    throw new CliError(`--log-format must be "json" or "text", got "${opts.logFormat}"`);
  }
  return { level: opts.logLevel as LogLevel, format: opts.logFormat };
}

/** Stop cleanly on SIGTERM/SIGINT; a second signal exits at once. */
export function onShutdownSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`crd-state-metrics: second ${signal}, exiting now\n`);
      process.exit(ExitCode.runtime);
    }
    stopping = true;
    shutdown()
      .then(() => process.exit(ExitCode.ok))
      .catch((err: unknown) => {
        process.stderr.write(
          `crd-state-metrics: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(ExitCode.runtime);
      });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

async function runServe(opts: ServeOptions): Promise<void> {
  const logging = logSettings(opts);
  const sharding = shardSettings(opts);
  const access = await accessSettings(opts);
  // Loaded here, not at the top, so offline commands never pay for the Kubernetes client.
  const [
    { createLogger },
    { loadConfigurations },
    { ManifestError },
    { formatDiagnostic },
    { startExporter },
    { VERSION },
  ] = await Promise.all([
    import("../../log/logger.js"),
    import("../../config/load.js"),
    import("../../config/manifests.js"),
    import("../../config/types.js"),
    import("../../exporter/exporter.js"),
    import("../../version.js"),
  ]);
  const logger = createLogger(logging);
  let fileConfigurations;
  if (opts.config && opts.config.length > 0) {
    try {
      const loaded = await loadConfigurations(opts.config);
      fileConfigurations = loaded.configurations;
      for (const d of [...loaded.diagnostics, ...loaded.configurations.flatMap((c) => c.diagnostics)]) {
        if (d.severity === "error") logger.error({ configuration: d.configuration }, formatDiagnostic(d));
        else logger.warn({ configuration: d.configuration }, formatDiagnostic(d));
      }
      logger.info(
        { count: fileConfigurations.length, paths: opts.config },
        "loaded configurations from files",
      );
    } catch (err) {
      if (err instanceof ManifestError) throw new CliError(`${err.file}: ${err.message}`);
      throw err;
    }
  }
  const kube = {
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  };
  let exporter;
  try {
    exporter = await startExporter({
      kube,
      logger,
      version: VERSION,
      host: opts.host,
      port: opts.port,
      ...(opts.telemetryHost ? { telemetryHost: opts.telemetryHost } : {}),
      telemetryPort: opts.telemetryPort,
      ...(fileConfigurations ? { fileConfigurations } : {}),
      ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
      ...sharding,
      ...access,
      storeCompression: opts.storeCompression === "on",
    });
  } catch (err) {
    const { TokenFileError } = await import("../../http/auth.js");
    const { TlsConfigError } = await import("../../http/tls.js");
    if (err instanceof TokenFileError || err instanceof TlsConfigError) throw new CliError(err.message);
    throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.runtime);
  }
  onShutdownSignal(() => exporter.shutdown());
}

export function registerServe(program: Command): Command {
  return program
    .command("serve")
    .description("run the exporter: watch MetricsConfigurations and their targets, serve /metrics")
    .addOption(
      option(
        "--kubeconfig <path>",
        "kubeconfig file (default: in-cluster, then $KUBECONFIG / ~/.kube/config)",
      ),
    )
    .addOption(option("--context <name>", "kubeconfig context to use"))
    .addOption(option("--host <address>", "address for the metrics and telemetry servers").default("0.0.0.0"))
    .addOption(
      option("--port <port>", "port of the state metrics server (/metrics)")
        .argParser(parsePort)
        .default(8080),
    )
    .addOption(option("--telemetry-host <address>", "address of the telemetry server (default: --host)"))
    .addOption(
      option("--telemetry-port <port>", "port of the exporter's own metrics")
        .argParser(parsePort)
        .default(8081),
    )
    .addOption(
      option(
        "-c, --config <path>",
        "also load MetricsConfigurations from these files or directories (repeatable)",
      ).argParser(collectPaths),
    )
    .addOption(
      option(
        "--namespaces <list>",
        "watch namespaced targets only in these namespaces (comma-separated)",
      ).argParser(collectPaths),
    )
    .addOption(
      option("--shard <n>", "serve only the objects whose uid hashes to this shard (0-based)").argParser(
        parseNonNegativeInt,
      ),
    )
    .addOption(
      option("--total-shards <n>", "number of shards (replicas) the objects are split across").argParser(
        parseNonNegativeInt,
      ),
    )
    .addOption(
      option(
        "--pod <name>",
        "automatic sharding: this StatefulSet pod's name (ordinal = its suffix, shards = the StatefulSet's replicas)",
      ),
    )
    .addOption(option("--pod-namespace <namespace>", "automatic sharding: this pod's namespace"))
    .addOption(
      option(
        "--auth <mode>",
        "who may read /metrics on both ports: none (default), token-file (see --auth-token-file) or kubernetes (TokenReview + SubjectAccessReview for get on /metrics)",
      ),
    )
    .addOption(
      option(
        "--auth-token-file <path>",
        "require Authorization: Bearer <token> matching a line of this file (re-read on change); implies --auth token-file",
      ),
    )
    .addOption(
      option("--tls-cert-file <path>", "serve HTTPS (TLS >= 1.2) with this certificate (re-read on change)"),
    )
    .addOption(option("--tls-key-file <path>", "private key of --tls-cert-file"))
    .addOption(
      option(
        "--deny-kinds <list>",
        "refuse these target kinds, in addition to core Secret (Kind, group/Kind or group/*; core group: core)",
      ).argParser(collectPaths),
    )
    .addOption(
      option(
        "--allow-kinds <list>",
        "serve only these target kinds (same syntax); naming Secret here is the only way to serve Secrets",
      ).argParser(collectPaths),
    )
    .addOption(
      option(
        "--max-series-per-configuration <n>",
        "series one MetricsConfiguration may serve; beyond, objects are withheld (default 100000)",
      ).argParser(parseNonNegativeInt),
    )
    .addOption(
      option("--max-series <n>", "series the whole exporter may serve (default: no limit)").argParser(
        parseNonNegativeInt,
      ),
    )
    .addOption(
      option(
        "--store-compression <mode>",
        "on: keep unchanged series compressed in memory (~1/25 of the exposition; uncompressed scrapes inflate them)",
      )
        .choices(["on", "off"])
        .default("off"),
    )
    .addOption(option("--log-level <level>", `log level: ${LOG_LEVELS.join(", ")}`).default("info"))
    .addOption(option("--log-format <format>", "json or text").default("json"))
    .addHelpText(
      "after",
      `
Endpoints: /metrics, /healthz, /livez, /readyz (503 until every target has listed once) and /
on --port; the exporter's own metrics on --telemetry-port. SIGTERM or SIGINT: readiness goes
503, watches stop, in-flight scrapes finish, exit 0. Every flag can also be set through
CSM_<FLAG> (e.g. CSM_TELEMETRY_PORT=9091). Sharding: --shard/--total-shards, or --pod and
--pod-namespace in a StatefulSet (docs/scaling.md). By default /metrics is plain HTTP without
authentication, like kube-state-metrics; /, /healthz, /livez and /readyz are never
authenticated. Core Secrets are refused as targets unless --allow-kinds names them
(docs/security.md).`,
    )
    .action(async (opts: ServeOptions) => {
      await runServe(opts);
    });
}
