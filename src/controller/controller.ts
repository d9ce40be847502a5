import { compileConfiguration } from "../config/compile.js";
import type { CompiledConfiguration, TargetRef } from "../config/compiled.js";
import { formatDiagnostic } from "../config/types.js";
import type { EvaluationHooks } from "../engine/evaluate.js";
import { buildPlan, type Plan } from "../engine/plan.js";
import {
  CrdWatcher,
  Discovery,
  KubeApiError,
  ObjectCache,
  Reflector,
  recordEvent,
  resourceKey,
  type CrdChange,
  type KubeApi,
  type KubeObject,
  type ReflectorObserver,
  type ResourceRef,
} from "../kube/index.js";
import type { Logger } from "../log/logger.js";
import type { MetricStore } from "../store/store.js";
import type { ShardSpec } from "../shard/shard.js";
import type { Telemetry } from "../telemetry/metrics.js";
import {
  conditionsFor,
  statusBody,
  statusFingerprint,
  withTransitionTimes,
  type Condition,
  type ConfigurationState,
} from "./status.js";
import { TargetRunner, type ReflectorTuning } from "./target.js";
import { CardinalityGuard, DEFAULT_MAX_SERIES_PER_CONFIGURATION, type SeriesLimits } from "./guard.js";
import { KindPolicy } from "./kinds.js";

/**
 * The live loop (SPEC §7): MetricsConfigurations (cluster and files) → plan → one reflector per
 * distinct target resource, started, restarted or stopped as configurations and CRDs change,
 * without touching the reflectors of unrelated targets.
 */

const MC_GROUP = "metrics.appscode.com";
const MC_KIND = "MetricsConfiguration";
const MAX_LAST_ERRORS = 5;
/** Series counts change constantly; write them to status at most this often. */
const SERIES_STATUS_INTERVAL_MS = 60_000;
const STATUS_SYNC_INTERVAL_MS = 5_000;

export interface ControllerOptions {
  api: KubeApi;
  store: MetricStore;
  logger: Logger;
  telemetry?: Telemetry;
  /** Configurations loaded from `--config` files; always served. */
  fileConfigurations?: readonly CompiledConfiguration[];
  /** Watch MetricsConfiguration objects in the cluster (when their CRD is installed). Default true. */
  watchConfigurations?: boolean;
  namespaces?: readonly string[];
  tuning?: ReflectorTuning;
  /** Write status / Events for cluster configurations. Default true. */
  reportStatus?: boolean;
  /** Keep only the objects this shard owns (docs/scaling.md). Default: unsharded. */
  shard?: ShardSpec;
  /** Target kinds refused or allowed (`--deny-kinds`, `--allow-kinds`); core Secret is denied by default. */
  kinds?: KindPolicy;
  /** `--max-series-per-configuration` (default 100,000) and `--max-series` (default none). */
  limits?: Partial<SeriesLimits>;
}

interface ClusterConfig {
  object: KubeObject;
  fingerprint: string;
  compiled: CompiledConfiguration;
}

interface Reported {
  fingerprint: string;
  conditions: Condition[];
  series: number;
  at: number;
}

function fingerprintOf(obj: KubeObject): string {
  return JSON.stringify([
    obj.metadata.uid,
    obj.metadata.creationTimestamp,
    obj.metadata.generation,
    obj.spec,
  ]);
}

export class Controller {
  private readonly api: KubeApi;
  private readonly store: MetricStore;
  private readonly log: Logger;
  private readonly telemetry: Telemetry | undefined;
  private readonly discovery: Discovery;
  private readonly crds: CrdWatcher;
  private readonly observer: ReflectorObserver;
  private readonly hooks: EvaluationHooks;
  private readonly files: readonly CompiledConfiguration[];
  private readonly cluster = new Map<string, ClusterConfig>();
  private readonly runners = new Map<string, TargetRunner>();
  /** Target key → resolution result for targets without a runner. */
  private readonly unresolved = new Map<string, "not-found" | "error">();
  private readonly lastErrors = new Map<string, string[]>();
  private readonly loggedErrors = new Set<string>();
  private readonly reported = new Map<string, Reported>();
  private configReflector: Reflector | undefined;
  private configCache: ObjectCache | undefined;
  private configStatusSubresource = false;
  private plan: Plan = buildPlan([]);
  private queue: Promise<void> = Promise.resolve();
  private dirty = false;
  /** A reconcile is running: runners for new targets may not exist yet, so not ready. */
  private reconciling = false;
  private stopped = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private loggedNoCrd = false;
  private statusRound: Promise<void> | undefined;
  private statusAgain = false;
  private shard: ShardSpec | undefined;
  private readonly kinds: KindPolicy;
  private readonly guard: CardinalityGuard;
  /** Configuration name → why its target kind is refused. */
  private denied = new Map<string, string>();

  constructor(private readonly options: ControllerOptions) {
    this.api = options.api;
    this.store = options.store;
    this.log = options.logger;
    this.telemetry = options.telemetry;
    this.files = options.fileConfigurations ?? [];
    this.shard = options.shard;
    this.kinds = options.kinds ?? new KindPolicy();
    this.guard = new CardinalityGuard(
      {
        perConfiguration: options.limits?.perConfiguration ?? DEFAULT_MAX_SERIES_PER_CONFIGURATION,
        global: options.limits?.global ?? Infinity,
        ...(options.limits?.reevaluateMs === undefined ? {} : { reevaluateMs: options.limits.reevaluateMs }),
      },
      options.store,
      options.telemetry ? { registry: options.telemetry.registry } : {},
    );
    this.discovery = new Discovery(options.api);
    this.observer = this.makeObserver();
    this.hooks = this.makeHooks();
    this.crds = new CrdWatcher({
      api: options.api,
      discovery: this.discovery,
      observer: this.observer,
      ...(options.tuning ? { reflector: options.tuning } : {}),
    });
  }

  start(): void {
    this.crds.subscribe((change) => {
      this.onCrdChange(change);
    });
    this.crds.start();
    void this.crds.synced.then(() => {
      this.ensureConfigWatch();
      this.schedule();
    });
    if (this.options.reportStatus !== false) {
      this.statusTimer = setInterval(() => {
        void this.syncStatuses();
      }, STATUS_SYNC_INTERVAL_MS);
      this.statusTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.guard.stop();
    await this.queue.catch(() => undefined);
    await Promise.all([
      this.crds.stop(),
      this.configReflector?.stop(),
      ...[...this.runners.values()].map((r) => r.stop()),
    ]);
  }

  /**
   * A new shard assignment (the StatefulSet scaled): every target relists under the new filter.
   * Series of objects still owned stay served throughout; those now owned elsewhere go at the
   * end of the relist.
   */
  setShard(shard: ShardSpec): void {
    if (this.shard?.index === shard.index && this.shard.total === shard.total) return;
    this.shard = shard;
    this.log.info({ shard: shard.index, totalShards: shard.total }, "shard assignment changed; relisting");
    this.schedule();
  }

  /** What readiness still waits for (SPEC §7): empty when every resolvable target has listed. */
  pending(): string[] {
    const out: string[] = [];
    if (!this.crds.hasSynced) out.push("customresourcedefinitions");
    if (this.configReflector && !this.configReflector.hasSynced) out.push("metricsconfigurations");
    if (this.dirty || this.reconciling) out.push("configuration changes");
    for (const r of this.runners.values()) if (!r.hasSynced) out.push(r.key);
    return out;
  }

  /** Resolves when every current target has listed once (tests, demo banner). */
  async whenReady(): Promise<void> {
    while (!this.stopped) {
      await this.crds.synced;
      await this.queue;
      await Promise.all([...this.runners.values()].map((r) => r.synced));
      if (this.pending().length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  configurations(): ConfigurationState[] {
    const all = [...this.files, ...[...this.cluster.values()].map((c) => c.compiled)];
    const planDiags = this.plan.diagnostics;
    return all.map((c) => this.stateOf(c, planDiags));
  }

  // ---- configuration sources -------------------------------------------------------------

  private ensureConfigWatch(): void {
    if (this.options.watchConfigurations === false || this.stopped) return;
    const crd = this.crds.find(MC_GROUP, MC_KIND);
    const resource = crd ? this.crds.resolve(`${MC_GROUP}/v1alpha1`, MC_KIND) : undefined;
    if (!resource) {
      if (!this.loggedNoCrd) {
        this.log.info(
          { files: this.files.length },
          "MetricsConfiguration CRD is not installed; serving configurations from --config files only",
        );
        this.loggedNoCrd = true;
      }
      return;
    }
    this.configStatusSubresource =
      crd?.versions.find((v) => v.name === "v1alpha1")?.statusSubresource ?? false;
    if (this.configReflector) return;
    this.loggedNoCrd = false;
    this.configCache = new ObjectCache({
      upserted: () => {
        this.schedule();
      },
      deleted: () => {
        this.schedule();
      },
    });
    this.configReflector = new Reflector({
      ...this.options.tuning,
      api: this.api,
      resource,
      handler: this.configCache,
      observer: this.observer,
    });
    this.configReflector.start();
    this.log.info({ statusSubresource: this.configStatusSubresource }, "watching MetricsConfigurations");
  }

  private async stopConfigWatch(): Promise<void> {
    const r = this.configReflector;
    this.configReflector = undefined;
    this.configCache = undefined;
    await r?.stop();
  }

  private onCrdChange(change: CrdChange): void {
    this.discovery.refresh();
    if (change.crd.group === MC_GROUP && change.crd.kind === MC_KIND) {
      if (change.type === "removed") {
        void this.stopConfigWatch().then(() => {
          this.schedule();
        });
      } else {
        this.ensureConfigWatch();
      }
    }
    this.schedule();
  }

  /** A method, not the field, so narrowing does not assume it unchanged across awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  // ---- reconcile --------------------------------------------------------------------------

  /** Coalesce bursts of changes into one reconcile; reconciles never overlap. */
  private schedule(): void {
    if (this.stopped) return;
    if (this.dirty) return;
    this.dirty = true;
    this.queue = this.queue
      .then(async () => {
        await this.crds.synced;
        this.dirty = false;
        this.reconciling = true;
        try {
          await this.reconcile();
        } finally {
          this.reconciling = false;
        }
      })
      .catch((err: unknown) => {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, "reconcile failed");
      });
  }

  private refreshClusterConfigs(): void {
    const seen = new Set<string>();
    for (const obj of this.configCache?.values() ?? []) {
      const name = obj.metadata.name;
      seen.add(name);
      const fp = fingerprintOf(obj);
      const prev = this.cluster.get(name);
      if (prev?.fingerprint === fp) {
        prev.object = obj;
        continue;
      }
      const compiled = compileConfiguration(obj, {});
      this.cluster.set(name, { object: obj, fingerprint: fp, compiled });
      this.lastErrors.delete(name);
      for (const d of compiled.diagnostics) {
        const line = formatDiagnostic(d);
        if (d.severity === "error") this.log.warn({ configuration: name }, line);
        else this.log.debug({ configuration: name }, line);
      }
      this.log.info(
        { configuration: name, metrics: compiled.metrics.length, declared: compiled.declaredMetrics },
        prev ? "configuration changed" : "configuration added",
      );
    }
    for (const name of [...this.cluster.keys()]) {
      if (!seen.has(name)) {
        this.cluster.delete(name);
        this.reported.delete(name);
        this.lastErrors.delete(name);
        this.log.info({ configuration: name }, "configuration deleted");
      }
    }
  }

  private async resolve(target: TargetRef): Promise<ResourceRef | "not-found" | "error"> {
    const viaCrd = this.crds.resolve(target.apiVersion, target.kind);
    if (viaCrd) return viaCrd;
    if (this.crds.find(target.group, target.kind)) return "not-found"; // CRD exists, version not served
    try {
      return (await this.discovery.resolve(target.apiVersion, target.kind)) ?? "not-found";
    } catch (err) {
      this.log.warn(
        {
          apiVersion: target.apiVersion,
          kind: target.kind,
          err: err instanceof Error ? err.message : String(err),
        },
        "discovery failed; will retry",
      );
      return "error";
    }
  }

  private sameResource(a: ResourceRef, b: ResourceRef): boolean {
    return (
      a.group === b.group && a.version === b.version && a.plural === b.plural && a.namespaced === b.namespaced
    );
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    this.refreshClusterConfigs();
    const configs = this.admitKinds([...this.files, ...[...this.cluster.values()].map((c) => c.compiled)]);
    const plan = buildPlan(configs);
    for (const d of plan.diagnostics) this.log.warn({ configuration: d.configuration }, formatDiagnostic(d));
    this.plan = plan;
    this.store.setFamilies(plan.families.values());

    let retry = false;
    for (const [key, targetPlan] of plan.targets) {
      const running = this.runners.get(key);
      const resolved = await this.resolve(targetPlan.target);
      if (this.isStopped()) return;
      if (typeof resolved === "string") {
        if (resolved === "error") retry = true;
        if (running) {
          await running.stop();
          this.runners.delete(key);
          this.store.dropResource(key);
          this.log.info({ target: key }, "target resource no longer served; its series are gone");
        }
        if (this.unresolved.get(key) !== resolved && resolved === "not-found") {
          this.log.warn(
            { target: key },
            "target resource is not served (CRD not installed?); waiting for it",
          );
        }
        this.unresolved.set(key, resolved);
        continue;
      }
      this.unresolved.delete(key);
      const unchanged =
        running &&
        running.shard === this.shard &&
        this.sameResource(running.resource, resolved) &&
        running.plan.metrics.length === targetPlan.metrics.length &&
        running.plan.metrics.every(
          (m, i) => m.metric === targetPlan.metrics[i]?.metric && m.slot === targetPlan.metrics[i].slot,
        );
      if (unchanged) continue;
      if (running) await running.stop();
      const runner = new TargetRunner(targetPlan, resolved, this.store, {
        api: this.api,
        hooks: this.hooks,
        observer: this.observer,
        ...(this.options.namespaces ? { namespaces: this.options.namespaces } : {}),
        ...(this.options.tuning ? { tuning: this.options.tuning } : {}),
        ...(this.shard ? { shard: this.shard } : {}),
        guard: this.guard.forTarget(targetPlan, plan.families, () => {
          this.relistForLimits(key, runner);
        }),
      });
      this.runners.set(key, runner);
      runner.start();
      this.log.info(
        { target: key, resource: resourceKey(resolved) },
        running ? "target re-evaluated" : "watching target",
      );
    }
    for (const [key, runner] of [...this.runners]) {
      if (!plan.targets.has(key)) {
        await runner.stop();
        this.runners.delete(key);
        this.store.dropResource(key);
        this.log.info({ target: key }, "no configuration targets this resource any more; stopped watching");
      }
    }
    for (const key of [...this.unresolved.keys()]) if (!plan.targets.has(key)) this.unresolved.delete(key);
    if (retry) {
      setTimeout(() => {
        this.schedule();
      }, 5_000).unref();
    }
    this.updateGauges();
    void this.syncStatuses();
  }

  /** Configurations whose target kind the policy refuses never reach the plan (no reflector). */
  private admitKinds(configs: readonly CompiledConfiguration[]): CompiledConfiguration[] {
    const denied = new Map<string, string>();
    const out: CompiledConfiguration[] = [];
    for (const c of configs) {
      const decision = c.target ? this.kinds.decide(c.target.group, c.target.kind) : { allowed: true };
      if (decision.allowed) {
        out.push(c);
        continue;
      }
      const message = decision.message ?? "target kind refused";
      denied.set(c.name, message);
      if (this.denied.get(c.name) !== message) {
        this.log.warn({ configuration: c.name }, `target refused: ${message}`);
      }
    }
    this.denied = denied;
    return out;
  }

  /** The cardinality guard found room for withheld objects: relist the target, in order. */
  private relistForLimits(key: string, runner: TargetRunner): void {
    if (this.stopped) return;
    this.queue = this.queue
      .then(async () => {
        if (this.stopped || this.runners.get(key) !== runner) return;
        this.log.info({ target: key }, "series limits: relisting to reconsider withheld objects");
        await runner.relist();
      })
      .catch((err: unknown) => {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, "relist failed");
      });
  }

  // ---- reporting --------------------------------------------------------------------------

  private stateOf(c: CompiledConfiguration, planDiags: Plan["diagnostics"]): ConfigurationState {
    const key = c.target ? `${c.target.apiVersion}/${c.target.kind}` : undefined;
    const runner = key === undefined ? undefined : this.runners.get(key);
    const conflicts = planDiags.filter((d) => d.configuration === c.name);
    const lost = new Set(conflicts.map((d) => d.metric));
    const denied = this.denied.get(c.name);
    const withheld = this.guard.withheld(c.name);
    let series = 0;
    for (const m of c.metrics) {
      const fam = this.plan.families.get(m.family);
      if (fam?.configurations[0] === c.name) series += this.store.seriesCount(m.family);
    }
    return {
      name: c.name,
      ...(c.source.generation === undefined ? {} : { generation: c.source.generation }),
      diagnostics: [...c.diagnostics, ...conflicts],
      declaredMetrics: c.declaredMetrics,
      validMetrics: denied === undefined ? c.metrics.filter((m) => !lost.has(m.name)).length : 0,
      ...(denied === undefined ? {} : { denied }),
      ...(withheld ? { withheld } : {}),
      targetFound: runner
        ? true
        : key !== undefined && this.unresolved.get(key) === "not-found"
          ? false
          : undefined,
      ...(runner ? { targetResource: resourceKey(runner.resource) } : {}),
      synced: runner?.hasSynced ?? false,
      series,
      lastErrors: this.lastErrors.get(c.name) ?? [],
    };
  }

  private updateGauges(): void {
    const t = this.telemetry;
    if (!t) return;
    const states = this.configurations();
    t.configurations.reset();
    for (const s of states) {
      const state =
        s.validMetrics === 0 || s.diagnostics.some((d) => d.severity === "error")
          ? "invalid"
          : s.targetFound === false
            ? "target_not_found"
            : "ready";
      t.configurations.inc({ state });
    }
    t.series.reset();
    for (const s of states) t.series.set({ configuration: s.name }, s.series);
    t.objects.reset();
    for (const r of this.runners.values()) t.objects.set({ resource: r.key }, r.objectCount());
  }

  /** Called before the telemetry registry is collected, so gauges are current. */
  collect(): void {
    this.updateGauges();
  }

  /**
   * Status writes are serialized: two overlapping rounds could land out of order and leave an
   * older status in place while we believe the newer one was written.
   */
  private syncStatuses(): Promise<void> {
    if (this.statusRound) {
      this.statusAgain = true;
      return this.statusRound;
    }
    this.statusRound = (async () => {
      do {
        this.statusAgain = false;
        await this.syncStatusesOnce();
      } while (this.rerunStatus());
    })().finally(() => {
      this.statusRound = undefined;
    });
    return this.statusRound;
  }

  private rerunStatus(): boolean {
    return this.statusAgain && !this.stopped;
  }

  private async syncStatusesOnce(): Promise<void> {
    if (this.options.reportStatus === false || this.stopped) return;
    const mcResource = this.configReflector?.resource;
    if (!mcResource) return;
    const now = Date.now();
    for (const cfg of this.cluster.values()) {
      const state = this.stateOf(cfg.compiled, this.plan.diagnostics);
      const prev = this.reported.get(state.name);
      const base = conditionsFor(state);
      const fingerprint = statusFingerprint(state, base);
      const seriesDue =
        prev !== undefined && prev.series !== state.series && now - prev.at >= SERIES_STATUS_INTERVAL_MS;
      if (prev?.fingerprint === fingerprint && !seriesDue) continue;
      const conditions = withTransitionTimes(base, prev?.conditions, new Date(now));
      this.reported.set(state.name, { fingerprint, conditions, series: state.series, at: now });
      try {
        if (this.configStatusSubresource) {
          await this.api.patchStatus(mcResource, state.name, { status: statusBody(state, conditions) });
        } else {
          await this.emitEvents(cfg.object, conditions, prev?.conditions);
        }
      } catch (err) {
        // Forget what we "reported" so the next round tries again.
        this.reported.delete(state.name);
        const message = err instanceof KubeApiError || err instanceof Error ? err.message : String(err);
        this.log.warn({ configuration: state.name, err: message }, "could not report configuration status");
      }
    }
  }

  private async emitEvents(obj: KubeObject, next: Condition[], prev: Condition[] | undefined): Promise<void> {
    for (const c of next) {
      const before = prev?.find((p) => p.type === c.type);
      if (before?.status === c.status && before.reason === c.reason) continue;
      const warning =
        (c.type !== "Ready" && c.status === "True") ||
        (c.type === "Ready" && c.status === "False" && c.reason !== "Syncing");
      if (!warning && !(c.type === "Ready" && c.status === "True")) continue;
      await recordEvent(this.api, {
        involved: { ...obj, apiVersion: `${MC_GROUP}/v1alpha1`, kind: MC_KIND },
        type: warning ? "Warning" : "Normal",
        reason: c.type === "Ready" ? c.reason : c.type,
        message: c.message,
        component: "crd-state-metrics",
      });
    }
  }

  // ---- telemetry bridges ------------------------------------------------------------------

  private makeObserver(): ReflectorObserver {
    return {
      onList: (resource, result) => this.telemetry?.listTotal.inc({ resource, result }),
      onWatchEvent: (resource, type) => this.telemetry?.countWatchEvent(resource, type),
      onWatchRestart: (resource, reason) => this.telemetry?.watchRestartsTotal.inc({ resource, reason }),
      onEventTimestamp: (resource, seconds) => this.telemetry?.noteEventTime(resource, seconds),
      onSynced: (resource) => {
        this.telemetry?.resourcesSynced.set({ resource }, 1);
        this.log.info({ resource }, "initial list complete");
        void this.syncStatuses();
      },
      onError: (resource, error, phase, delayMs) => {
        this.log.warn(
          {
            resource,
            phase,
            status: error.statusCode,
            reason: error.reason,
            retryInMs: Math.round(delayMs),
            err: error.message,
          },
          `${phase} failed; retrying`,
        );
      },
    };
  }

  private makeHooks(): EvaluationHooks {
    return {
      onError: (metric, reason, message) => {
        this.telemetry?.evaluationErrorsTotal.inc({
          configuration: metric.configuration,
          metric: metric.name,
          reason,
        });
        const list = this.lastErrors.get(metric.configuration) ?? [];
        const line = `metric "${metric.name}": ${message}`;
        if (!list.includes(line)) {
          list.push(line);
          if (list.length > MAX_LAST_ERRORS) list.shift();
          this.lastErrors.set(metric.configuration, list);
        }
        // One log line per kind of failure; the counter carries the volume.
        const logKey = `${metric.configuration}\u0000${metric.name}\u0000${reason}`;
        if (!this.loggedErrors.has(logKey)) {
          this.loggedErrors.add(logKey);
          this.log.warn(
            { configuration: metric.configuration, metric: metric.name, reason },
            // Quoted text in a message can be an object's field value: logs never carry it
            // (the configuration's status.lastErrors has the full message).
            `evaluation error: ${message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"')}`,
          );
        }
      },
      onDuplicate: (family) => this.telemetry?.duplicateSeriesTotal.inc({ family }),
    };
  }
}
