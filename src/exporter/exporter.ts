import type { IncomingMessage, ServerResponse } from "node:http";
import type { CompiledConfiguration } from "../config/compiled.js";
import { Controller } from "../controller/controller.js";
import type { ReflectorTuning } from "../controller/target.js";
import { createMetricsApp, createTelemetryApp, type Readiness } from "../http/app.js";
import { listen, type RunningServer } from "../http/server.js";
import { createKubeApi, type KubeConnectOptions } from "../kube/index.js";
import type { Logger } from "../log/logger.js";
import { MetricStore } from "../store/store.js";
import { Telemetry } from "../telemetry/metrics.js";
import { UNSHARDED, type ShardSpec } from "../shard/shard.js";
import { StatefulSetShards } from "../shard/statefulset.js";
import type { SeriesLimits } from "../controller/guard.js";
import type { KindPolicy } from "../controller/kinds.js";
import { kubernetesAuth, requireAuth, tokenFileAuth, type Authenticator } from "../http/auth.js";
import { loadTls, type TlsFiles } from "../http/tls.js";

/**
 * The exporter assembled: API client → controller → store → HTTP servers. `serve` and `demo`
 * both run exactly this; only where the API server is differs.
 */

export interface ExporterOptions {
  kube: KubeConnectOptions;
  logger: Logger;
  version: string;
  host: string;
  port: number;
  telemetryHost?: string;
  telemetryPort: number;
  fileConfigurations?: readonly CompiledConfiguration[];
  namespaces?: readonly string[];
  tuning?: ReflectorTuning;
  /** Bound on how long in-flight scrapes may run after SIGTERM. Default 10 s. */
  shutdownGraceMs?: number;
  /** Static sharding (`--shard`, `--total-shards`); see docs/scaling.md. */
  shard?: ShardSpec;
  /** Automatic sharding from a StatefulSet (`--pod`, `--pod-namespace`). */
  autoShard?: { pod: string; namespace: string };
  /** `--auth-token-file` or `--auth kubernetes` on both /metrics endpoints (docs/security.md). */
  auth?: { tokenFile: string } | { kubernetes: true };
  /** `--tls-cert-file` / `--tls-key-file`: both servers speak HTTPS (TLS ≥ 1.2). */
  tls?: TlsFiles;
  /** `--deny-kinds` / `--allow-kinds`. */
  kinds?: KindPolicy;
  /** `--max-series-per-configuration` / `--max-series`. */
  limits?: Partial<SeriesLimits>;
  /** `--store-compression on`: cold store blocks are kept compressed only (docs/operations.md). */
  storeCompression?: boolean;
}

export interface RunningExporter {
  readonly controller: Controller;
  readonly store: MetricStore;
  readonly telemetry: Telemetry;
  readonly metrics: RunningServer;
  readonly telemetryServer: RunningServer;
  /** Resolves once every target has listed once (the moment /readyz turns 200). */
  whenReady(): Promise<void>;
  /** Readiness fails, reflectors stop, in-flight scrapes finish (bounded), servers close. */
  shutdown(): Promise<void>;
}

/** Count /metrics requests in flight on a server, so shutdown can wait for them. */
function trackScrapes(running: RunningServer): {
  inFlight(): number;
  drained(timeoutMs: number): Promise<void>;
} {
  let inFlight = 0;
  const waiters = new Set<() => void>();
  running.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith("/metrics")) return;
    inFlight++;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) for (const w of [...waiters]) w();
    });
  });
  return {
    inFlight: () => inFlight,
    drained: (timeoutMs) =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            };
            const timer = setTimeout(done, timeoutMs);
            waiters.add(done);
          }),
  };
}

export async function startExporter(options: ExporterOptions): Promise<RunningExporter> {
  const log = options.logger;
  const api = createKubeApi({ userAgent: `crd-state-metrics/${options.version}`, ...options.kube });
  const store = new MetricStore({ compress: options.storeCompression === true });
  let authenticator: Authenticator | undefined;
  if (options.auth) {
    authenticator =
      "tokenFile" in options.auth
        ? await tokenFileAuth(options.auth.tokenFile, { logger: log })
        : kubernetesAuth(api, { logger: log });
  }
  const tls = options.tls ? await loadTls(options.tls, { logger: log }) : undefined;
  const protect = authenticator ? requireAuth(authenticator, log) : undefined;
  const telemetry = new Telemetry(options.version);
  const setShardGauges = (spec: ShardSpec): void => {
    telemetry.shardOrdinal.set(spec.index);
    telemetry.totalShards.set(spec.total);
  };
  setShardGauges(options.shard ?? UNSHARDED);
  const controller = new Controller({
    api,
    store,
    logger: log,
    telemetry,
    ...(options.fileConfigurations ? { fileConfigurations: options.fileConfigurations } : {}),
    ...(options.namespaces && options.namespaces.length > 0 ? { namespaces: options.namespaces } : {}),
    ...(options.tuning ? { tuning: options.tuning } : {}),
    ...(options.shard ? { shard: options.shard } : {}),
    ...(options.kinds ? { kinds: options.kinds } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  // Automatic sharding: nothing is listed before the StatefulSet says how many shards there are.
  const auto = options.autoShard
    ? new StatefulSetShards({
        api,
        pod: options.autoShard.pod,
        namespace: options.autoShard.namespace,
        ...(options.tuning ? { tuning: options.tuning } : {}),
        onChange: (spec) => {
          setShardGauges(spec);
          if (spec.index >= spec.total)
            log.warn(
              { shard: spec.index, totalShards: spec.total },
              "pod ordinal is beyond the StatefulSet's replicas: serving no objects until this pod is removed",
            );
          else
            log.info({ shard: spec.index, totalShards: spec.total }, "shard assignment from the StatefulSet");
          controller.setShard(spec);
        },
      })
    : undefined;
  let shuttingDown = false;
  const readiness: Readiness = {
    pending: () =>
      auto && !auto.shard
        ? [`statefulset ${options.autoShard?.namespace ?? ""}/${auto.statefulSet}`, ...controller.pending()]
        : controller.pending(),
    shuttingDown: () => shuttingDown,
  };
  const metricsApp = createMetricsApp(store, readiness, {
    onScrape: (format, seconds) => {
      telemetry.scrapeDuration.observe({ format }, seconds);
    },
    ...(protect ? { protect } : {}),
  });
  const telemetryApp = createTelemetryApp(
    telemetry.registry,
    readiness,
    () => {
      controller.collect();
    },
    protect,
  );
  const metrics = await listen(metricsApp, options.port, options.host, tls);
  const scrapes = trackScrapes(metrics);
  let telemetryServer: RunningServer;
  try {
    telemetryServer = await listen(
      telemetryApp,
      options.telemetryPort,
      options.telemetryHost ?? options.host,
      tls,
    );
  } catch (err) {
    await metrics.close(0);
    throw err;
  }
  log.info(
    {
      url: `${metrics.url}/metrics`,
      telemetry: `${telemetryServer.url}/metrics`,
      apiServer: api.server,
      auth: authenticator?.mode ?? "none",
    },
    "serving",
  );
  if (auto) {
    auto.start();
    void auto.first.then(() => {
      controller.start();
    });
  } else {
    controller.start();
  }

  let shutdownPromise: Promise<void> | undefined;
  return {
    controller,
    store,
    telemetry,
    metrics,
    telemetryServer,
    whenReady: async () => {
      if (auto) await auto.first;
      await controller.whenReady();
    },
    shutdown: () => {
      shutdownPromise ??= (async () => {
        shuttingDown = true;
        log.info(
          { inFlightScrapes: scrapes.inFlight() },
          "shutting down: readiness off, stopping watches, draining scrapes",
        );
        const grace = options.shutdownGraceMs ?? 10_000;
        const deadline = Date.now() + grace;
        await Promise.all([controller.stop(), auto?.stop()]);
        // Keep listening while scrapes drain, so /readyz can answer 503 rather than refuse the
        // connection; then stop accepting and close what is left.
        await scrapes.drained(Math.max(0, deadline - Date.now()));
        const rest = Math.max(0, deadline - Date.now());
        await Promise.all([metrics.close(rest), telemetryServer.close(rest)]);
        api.close();
        authenticator?.close();
        tls?.close();
        log.info("stopped");
      })();
      return shutdownPromise;
    },
  };
}
