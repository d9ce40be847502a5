import { Gauge, type Registry } from "prom-client";
import type { FamilyInfo, TargetPlan } from "../engine/plan.js";
import type { MetricStore, ObjectRef } from "../store/store.js";

/**
 * Cardinality guard (docs/security.md, "Cardinality guard"): `--max-series-per-configuration`
 * and `--max-series` bound what one MetricsConfiguration, and all of them together, can serve.
 *
 * The rule, applied where objects enter (never by scanning the store):
 * - A configuration's series are the series of the families it owns (the first configuration of
 *   a merged family). An object's series for one configuration are admitted or withheld whole.
 * - During a (re)list of the target, objects arrive in (namespace, name) order and are admitted
 *   while the configuration's running total, this object included, stays within its limit; an
 *   object that does not fit is withheld, later objects that still fit are served. After a
 *   relist the served set is therefore a function of the objects alone.
 * - Between relists, an added or changed object is admitted when the configuration's total with
 *   it stays within the limit; otherwise its series for that configuration are withheld (removed
 *   if they were served). When room comes free (deletes, shrinking objects) and something is
 *   withheld that would fit, the target is relisted (at most once per `reevaluateMs`) so the
 *   withheld objects are reconsidered in order.
 * - `--max-series` is checked after the per-configuration limit, against the store's total:
 *   an object that would push the exporter past it is withheld entirely. It is a last-resort
 *   safety net: which configuration loses is first come, first served.
 *
 * Withheld objects are remembered by key and series count only (never their fragments).
 */

export interface SeriesLimits {
  /** Series one configuration may serve. Infinity: no limit. */
  perConfiguration: number;
  /** Series the whole exporter may serve. Infinity: no limit. */
  global: number;
  /** Relist a limited target at most this often when room has come free. Default 30 s. */
  reevaluateMs?: number;
}

export const DEFAULT_MAX_SERIES_PER_CONFIGURATION = 100_000;
/** Relist a limited target at most this often when room has come free. */
const REEVALUATE_MS = 30_000;

export interface WithheldState {
  /** Series not served because of the limits. */
  series: number;
  objects: number;
  /** The limit that applies to this configuration. */
  limit: number;
  /** True when the global limit withheld anything of this configuration. */
  global: boolean;
}

function idKey(ref: ObjectRef): string {
  return `${ref.namespace}\u0000${ref.name}`;
}

function lineCount(s: string | undefined): number {
  if (s === undefined) return 0;
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

interface Owned {
  readonly configuration: string;
  /** Slots of the target plan's families this configuration owns. */
  readonly slots: readonly number[];
  readonly families: readonly string[];
  /** Object key → series withheld (by either limit). */
  readonly withheld: Map<string, number>;
  /** Objects withheld by the global limit. */
  readonly global: Set<string>;
  /** Smallest withheld object seen since the last relist (a lower bound after removals). */
  minWithheld: number;
  /** Running total while a relist is in progress. */
  relistTotal: number;
}

/** One per watched target; created by the controller with each TargetRunner. */
export class TargetGuard {
  private readonly owned: Owned[];
  private relisting = false;
  private closed = false;

  constructor(
    private readonly parent: CardinalityGuard,
    readonly plan: TargetPlan,
    families: ReadonlyMap<string, FamilyInfo>,
    private readonly store: MetricStore,
    private readonly reevaluate: () => void,
  ) {
    const byConfig = new Map<string, { slots: number[]; families: string[] }>();
    plan.families.forEach((family, slot) => {
      const owner = families.get(family)?.configurations[0];
      if (owner === undefined) return;
      let entry = byConfig.get(owner);
      if (!entry) {
        entry = { slots: [], families: [] };
        byConfig.set(owner, entry);
      }
      entry.slots.push(slot);
      entry.families.push(family);
    });
    this.owned = [...byConfig].map(([configuration, e]) => ({
      configuration,
      slots: e.slots,
      families: e.families,
      withheld: new Map(),
      global: new Set(),
      minWithheld: Infinity,
      relistTotal: 0,
    }));
  }

  private served(o: Owned): number {
    let n = 0;
    for (const f of o.families) n += this.store.seriesCount(f);
    return n;
  }

  relistStart(): void {
    this.relisting = true;
    for (const o of this.owned) {
      o.withheld.clear();
      o.global.clear();
      o.minWithheld = Infinity;
      o.relistTotal = 0;
    }
  }

  relistDone(): void {
    this.relisting = false;
    this.checkRoom();
  }

  private withhold(o: Owned, key: string, series: number, global: boolean): void {
    o.withheld.set(key, series);
    if (global) o.global.add(key);
    else o.global.delete(key);
    if (series < o.minWithheld) o.minWithheld = series;
  }

  /**
   * Upsert through the limits: the object's series of a configuration are served or withheld.
   * `counts` (series per fragment, as renderObject reports them) spares counting lines.
   */
  upsert(
    resourceId: string,
    ref: ObjectRef,
    fragments: readonly (string | undefined)[],
    counts?: readonly number[],
  ): void {
    const key = idKey(ref);
    const seriesOf = (o: Owned): number => {
      let n = 0;
      for (const s of o.slots) n += counts ? (counts[s] ?? 0) : lineCount(fragments[s]);
      return n;
    };
    const limit = this.parent.limits.perConfiguration;
    let out: (string | undefined)[] | undefined;
    const drop = (o: Owned): void => {
      out ??= [...fragments];
      for (const s of o.slots) out[s] = undefined;
    };
    if (this.relisting) {
      // Greedy in list order, against what this relist has admitted so far.
      for (const o of this.owned) {
        const n = seriesOf(o);
        if (n > 0 && o.relistTotal + n > limit) {
          this.withhold(o, key, n, false);
          drop(o);
        } else {
          o.withheld.delete(key);
          o.relistTotal += n;
        }
      }
      this.store.upsert(resourceId, ref, this.plan.families, out ?? fragments);
    } else {
      this.store.upsert(resourceId, ref, this.plan.families, fragments);
      for (const o of this.owned) {
        if (this.served(o) <= limit) {
          if (o.withheld.delete(key)) o.global.delete(key);
          continue;
        }
        this.withhold(o, key, seriesOf(o), false);
        drop(o);
      }
      if (out) this.store.upsert(resourceId, ref, this.plan.families, out);
    }
    if (this.parent.limits.global !== Infinity && this.parent.globalServed() > this.parent.limits.global) {
      for (const o of this.owned) {
        const n = seriesOf(o);
        if (n === 0) continue;
        // Admitted above during a relist: it no longer counts towards this relist's total.
        if (this.relisting && !o.withheld.has(key)) o.relistTotal -= n;
        this.withhold(o, key, n, true);
      }
      this.store.upsert(
        resourceId,
        ref,
        this.plan.families,
        fragments.map(() => undefined),
      );
    }
    if (!this.relisting) this.checkRoom();
  }

  deleted(ref: ObjectRef): void {
    const key = idKey(ref);
    for (const o of this.owned) {
      o.withheld.delete(key);
      o.global.delete(key);
    }
    if (!this.relisting) this.checkRoom();
  }

  /** Something withheld might now fit: ask for a relist (rate-limited by the parent). */
  private checkRoom(): void {
    if (this.closed) return;
    const limit = this.parent.limits.perConfiguration;
    for (const o of this.owned) {
      if (o.withheld.size === 0) continue;
      const room = Math.min(limit - this.served(o), this.parent.limits.global - this.parent.globalServed());
      if (room >= o.minWithheld) {
        this.parent.requestReevaluation(this.plan.key, this.reevaluate);
        return;
      }
    }
  }

  families(): readonly string[] {
    return this.plan.families;
  }

  state(configuration: string): { series: number; objects: number; global: boolean } | undefined {
    const o = this.owned.find((x) => x.configuration === configuration);
    if (!o || o.withheld.size === 0) return undefined;
    let series = 0;
    for (const n of o.withheld.values()) series += n;
    return { series, objects: o.withheld.size, global: o.global.size > 0 };
  }

  configurations(): string[] {
    return this.owned.map((o) => o.configuration);
  }

  close(): void {
    this.closed = true;
    this.parent.unregister(this);
  }
}

/** Shared by every target: the limits, the global total and the self-metrics. */
export class CardinalityGuard {
  private readonly targets = new Set<TargetGuard>();
  private readonly lastReevaluation = new Map<string, number>();
  private readonly pendingReevaluation = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly limits: SeriesLimits,
    private readonly store: MetricStore,
    options: { registry?: Registry } = {},
  ) {
    if (options.registry) this.registerMetrics(options.registry);
  }

  /** A guard for a new TargetRunner; `reevaluate` relists that target. */
  forTarget(
    plan: TargetPlan,
    families: ReadonlyMap<string, FamilyInfo>,
    reevaluate: () => void,
  ): TargetGuard {
    const g = new TargetGuard(this, plan, families, this.store, reevaluate);
    this.targets.add(g);
    return g;
  }

  /** @internal */
  unregister(g: TargetGuard): void {
    this.targets.delete(g);
  }

  /** @internal Series currently served across every guarded target. */
  globalServed(): number {
    let n = 0;
    for (const t of this.targets) for (const f of t.families()) n += this.store.seriesCount(f);
    return n;
  }

  /** @internal */
  requestReevaluation(key: string, run: () => void): void {
    if (this.pendingReevaluation.has(key)) return;
    const every = this.limits.reevaluateMs ?? REEVALUATE_MS;
    const wait = Math.max(0, (this.lastReevaluation.get(key) ?? -Infinity) + every - Date.now());
    const timer = setTimeout(() => {
      this.pendingReevaluation.delete(key);
      this.lastReevaluation.set(key, Date.now());
      run();
    }, wait);
    timer.unref();
    this.pendingReevaluation.set(key, timer);
  }

  /** What the limits withhold from one configuration (undefined: nothing). */
  withheld(configuration: string): WithheldState | undefined {
    let series = 0;
    let objects = 0;
    let global = false;
    for (const t of this.targets) {
      const s = t.state(configuration);
      if (!s) continue;
      series += s.series;
      objects += s.objects;
      global ||= s.global;
    }
    if (objects === 0) return undefined;
    return { series, objects, limit: this.limits.perConfiguration, global };
  }

  stop(): void {
    for (const t of this.pendingReevaluation.values()) clearTimeout(t);
    this.pendingReevaluation.clear();
  }

  private registerMetrics(registry: Registry): void {
    const configurations = (): string[] => [...this.targets].flatMap((t) => t.configurations());
    const limited = new Gauge({
      name: "crd_state_metrics_cardinality_limited",
      help: "1 while the series limits withhold series of this MetricsConfiguration, else 0.",
      labelNames: ["configuration"],
      registers: [registry],
      collect: () => {
        limited.reset();
        for (const c of configurations()) limited.set({ configuration: c }, this.withheld(c) ? 1 : 0);
      },
    });
    const dropped = new Gauge({
      name: "crd_state_metrics_series_dropped",
      help: "Series of this MetricsConfiguration not served because of --max-series-per-configuration or --max-series.",
      labelNames: ["configuration"],
      registers: [registry],
      collect: () => {
        dropped.reset();
        for (const c of configurations()) dropped.set({ configuration: c }, this.withheld(c)?.series ?? 0);
      },
    });
  }
}
