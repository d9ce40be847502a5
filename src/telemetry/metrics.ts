import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The exporter's own metrics (SPEC §10), served on the telemetry port — never mixed with the
 * state metrics. `resource` is `group/version/plural`; no label ever names an object.
 */
export class Telemetry {
  readonly registry = new Registry();
  readonly buildInfo: Gauge<"version" | "node_version">;
  readonly configurations: Gauge<"state">;
  readonly resourcesSynced: Gauge<"resource">;
  readonly objects: Gauge<"resource">;
  readonly series: Gauge<"configuration">;
  readonly listTotal: Counter<"resource" | "result">;
  readonly watchEventsTotal: Counter<"resource" | "type">;
  readonly watchRestartsTotal: Counter<"resource" | "reason">;
  readonly evaluationErrorsTotal: Counter<"configuration" | "metric" | "reason">;
  readonly duplicateSeriesTotal: Counter<"family">;
  readonly lastEventTimestamp: Gauge<"resource">;
  readonly scrapeDuration: Histogram<"format">;
  readonly shardOrdinal: Gauge;
  readonly totalShards: Gauge;
  /**
   * Watch events counted in plain numbers and handed to prom-client when the registry is read:
   * prom-client hashes label values on every inc() or set(), ~1.5 µs per event at thousands of
   * events per second, for figures read once per scrape of the telemetry port.
   */
  private readonly eventCounts = new Map<string, Map<string, number>>();
  private readonly eventTimes = new Map<string, number>();

  constructor(version: string, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const p = "crd_state_metrics_";
    this.buildInfo = new Gauge({
      name: `${p}build_info`,
      help: "Always 1; labelled with the exporter version and Node.js version.",
      labelNames: ["version", "node_version"],
      registers,
    });
    this.buildInfo.set({ version, node_version: process.version }, 1);
    this.configurations = new Gauge({
      name: `${p}configurations`,
      help: "MetricsConfigurations known to the exporter, by state (ready, invalid, target_not_found).",
      labelNames: ["state"],
      registers,
    });
    this.resourcesSynced = new Gauge({
      name: `${p}resources_synced`,
      help: "1 when the resource has completed its first list, 0 while it has not.",
      labelNames: ["resource"],
      registers,
    });
    this.objects = new Gauge({
      name: `${p}objects`,
      help: "Objects currently held (as rendered series) per watched resource.",
      labelNames: ["resource"],
      registers,
    });
    this.series = new Gauge({
      name: `${p}series`,
      help: "Series currently served per MetricsConfiguration.",
      labelNames: ["configuration"],
      registers,
    });
    this.listTotal = new Counter({
      name: `${p}list_total`,
      help: "Complete lists of a resource, by result (success, error, expired).",
      labelNames: ["resource", "result"],
      registers,
    });
    this.watchEventsTotal = new Counter({
      name: `${p}watch_events_total`,
      help: "Watch events received, by resource and event type.",
      labelNames: ["resource", "type"],
      registers,
      collect: () => {
        for (const [resource, byType] of this.eventCounts) {
          for (const [type, n] of byType) if (n > 0) this.watchEventsTotal.inc({ resource, type }, n);
          byType.clear();
        }
      },
    });
    this.watchRestartsTotal = new Counter({
      name: `${p}watch_restarts_total`,
      help: "Watches re-established, by resource and reason (timeout, closed, watchdog, gone, error, throttled).",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.evaluationErrorsTotal = new Counter({
      name: `${p}evaluation_errors_total`,
      help: "Series that could not be evaluated, by configuration, metric and reason (path, conversion, expression).",
      labelNames: ["configuration", "metric", "reason"],
      registers,
    });
    this.duplicateSeriesTotal = new Counter({
      name: `${p}duplicate_series_total`,
      help: "Series dropped because an earlier row already produced the same label set.",
      labelNames: ["family"],
      registers,
    });
    this.lastEventTimestamp = new Gauge({
      name: `${p}last_event_timestamp_seconds`,
      help: "Unix time of the last watch event applied per resource.",
      labelNames: ["resource"],
      registers,
      collect: () => {
        for (const [resource, seconds] of this.eventTimes) this.lastEventTimestamp.set({ resource }, seconds);
        this.eventTimes.clear();
      },
    });
    this.scrapeDuration = new Histogram({
      name: `${p}scrape_duration_seconds`,
      help: "Time to serve one /metrics scrape of the state metrics.",
      labelNames: ["format"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.shardOrdinal = new Gauge({
      name: `${p}shard_ordinal`,
      help: "This replica's shard: it serves the objects whose uid hashes to this ordinal (0 when unsharded).",
      registers,
    });
    this.totalShards = new Gauge({
      name: `${p}total_shards`,
      help: "Number of shards the objects are split across (1 when unsharded).",
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** One watch event of `type` for `resource` (counted into watch_events_total). */
  countWatchEvent(resource: string, type: string): void {
    let byType = this.eventCounts.get(resource);
    if (!byType) {
      byType = new Map();
      this.eventCounts.set(resource, byType);
    }
    byType.set(type, (byType.get(type) ?? 0) + 1);
  }

  /** When `resource` last had an event applied (last_event_timestamp_seconds). */
  noteEventTime(resource: string, seconds: number): void {
    this.eventTimes.set(resource, seconds);
  }
}
