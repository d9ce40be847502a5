import type { BoundPath, CompiledLabel, CompiledMetric, CompiledValue } from "../config/compiled.js";
import type { CompiledPath } from "../jsonpath/index.js";
import { formatResults, JsonPathLimitError } from "../jsonpath/index.js";
import { ABSENT, ExpressionError, type CompiledExpression } from "../expression/index.js";
import { escapeLabelValue, formatValue, renderLabels, seriesLine } from "../exposition/format.js";
import type { TargetPlan } from "./plan.js";
import { bindParam, convertExpressionResult, convertPathValue, type Conversion } from "./values.js";

/**
 * Per-object evaluation (SPEC §3): one object in, its rendered series lines per family out. This
 * runs at event time; a scrape only concatenates what it produced.
 *
 * test/support/reference-render.ts is the same evaluation written plainly, label pairs and all;
 * this one is what runs, and test/props.engine checks that both give the same bytes and report
 * the same problems. What makes it cheaper, per target plan (built once, see `programFor`):
 * - paths are shared by their text across every metric of the target: commonLabels are compiled
 *   once per metric, so `.metadata.name` read by six metrics is evaluated, formatted and escaped
 *   once per object, not six times;
 * - a metric whose label keys are all distinct (identity labels and the states label included),
 *   which is every shipped configuration, needs no label pairs: its label text is the identity
 *   labels, then each label that has a value, in order. The leading run of labels that do not
 *   read the row is rendered once per object and reused by every metric that starts with the same
 *   labels (the commonLabels);
 * - a metric that can only produce distinct series (one row, states with distinct values, the only
 *   metric of its family) skips the duplicate check.
 */

export type EvaluationErrorReason = "path" | "conversion" | "expression" | "limit";

/**
 * Per-object budgets (docs/configuration.md, "Limits"), so that one expensive metric cannot stall
 * the rendering of everything else. Each cap is per object and per metric.
 */
export const EVALUATION_LIMITS = {
  /** Series one metric may produce for one object; later rows are not evaluated. */
  maxSeriesPerObject: 10_000,
  /** Wall-clock time one metric may spend on one object before its series for it are dropped. */
  maxMillisecondsPerObject: 2_000,
} as const;

/** A metric went over a budget for this object: its series for the object are dropped. */
export class BudgetExceeded extends Error {}

export interface EvaluationHooks {
  onError?(metric: CompiledMetric, reason: EvaluationErrorReason, message: string): void;
  onDuplicate?(family: string): void;
}

/** Identity of an object for ordering and storage. */
export interface ObjectIdentity {
  namespace: string;
  name: string;
}

export function objectIdentity(obj: unknown): ObjectIdentity | undefined {
  if (typeof obj !== "object" || obj === null) return undefined;
  const md = (obj as { metadata?: unknown }).metadata;
  if (typeof md !== "object" || md === null) return undefined;
  const { name, namespace } = md as { name?: unknown; namespace?: unknown };
  if (typeof name !== "string" || name === "") return undefined;
  return { name, namespace: typeof namespace === "string" ? namespace : "" };
}

// ---- the program of a target plan ----

/** A label of a metric whose keys are all distinct: its text is `,key="value"` or nothing. */
type LabelStep =
  | { readonly kind: "const"; readonly text: string }
  /** Reads the whole object: its text is computed once per object (`segment` indexes the cache). */
  | { readonly kind: "shared"; readonly segment: number }
  | { readonly kind: "row"; readonly open: string; readonly path: BoundPath };

interface Segment {
  /** `,key="` (a const label: its whole text). */
  readonly open: string;
  /** Index of the path in the object's path cache; -1 for a const label. */
  readonly path: number;
}

/** A metricValue or a state's value, with what its evaluation can prepare once. */
interface ValueStep {
  readonly value: CompiledValue;
  /** A constant's result, built once. */
  readonly constant: Evaluated | undefined;
  /** An expression's remembered results (see MEMO_SIZE). */
  readonly memo: Map<string, Evaluated> | undefined;
  /**
   * Expressions of the metric that read the same parameters share this number, and so the memo
   * key of a row: a metric's states usually all test the same parameter.
   */
  readonly params: number;
}

interface MetricProgram {
  readonly metric: CompiledMetric;
  readonly slot: number;
  /** Per state of metric.states, in order. */
  readonly states: readonly ValueStep[] | undefined;
  readonly value: ValueStep | undefined;
  /** Index of each whole-object path of this metric in the path cache, by CompiledPath. */
  readonly paths: ReadonlyMap<CompiledPath, number>;
  /** Index of the field path, or -1. */
  readonly field: number;
  /** Undefined: keys may repeat, so labels go through pairs (as the reference renderer does). */
  readonly direct:
    | {
        /** `family{` */
        readonly open: string;
        /** The leading labels that read the whole object, rendered once per object. */
        readonly prefix: number;
        readonly rest: readonly LabelStep[];
        /** `,key="value"` of each state, when states are set. */
        readonly states: readonly string[] | undefined;
        /** The only metric of its family: duplicates can only be among its own series. */
        readonly alone: boolean;
        /** Alone, with distinct states: only series of different rows can repeat each other. */
        readonly acrossRows: boolean;
      }
    | undefined;
  /** Series of this metric may repeat each other or another metric's in the same family. */
  readonly dedup: boolean;
}

interface Program {
  readonly metrics: readonly MetricProgram[];
  /** Whole-object paths, one per distinct text (the same text evaluates the same). */
  readonly paths: readonly CompiledPath[];
  readonly segments: readonly Segment[];
  /** Per prefix: the segments it joins. */
  readonly prefixes: readonly (readonly number[])[];
}

const programs = new WeakMap<TargetPlan, Program>();

/** The program of the last plan rendered: objects of one kind tend to come in runs. */
let lastPlan: TargetPlan | undefined;
let lastProgram: Program | undefined;

function programFor(plan: TargetPlan): Program {
  if (plan === lastPlan && lastProgram !== undefined) return lastProgram;
  let p = programs.get(plan);
  if (!p) {
    p = compileProgram(plan);
    programs.set(plan, p);
  }
  lastPlan = plan;
  lastProgram = p;
  return p;
}

function compileProgram(plan: TargetPlan): Program {
  const pathIndex = new Map<string, number>();
  const pathList: CompiledPath[] = [];
  const segmentIndex = new Map<string, number>();
  const segments: Segment[] = [];
  const prefixIndex = new Map<string, number>();
  const prefixes: number[][] = [];
  const perSlot = new Map<number, number>();
  for (const { slot } of plan.metrics) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);

  const internPath = (path: CompiledPath): number => {
    let i = pathIndex.get(path.source);
    if (i === undefined) {
      i = pathList.push(path) - 1;
      pathIndex.set(path.source, i);
    }
    return i;
  };

  const metrics = plan.metrics.map(({ metric, slot }): MetricProgram => {
    const paths = new Map<CompiledPath, number>();
    const bind = (b: BoundPath): void => {
      if (!b.rowRelative) paths.set(b.path, internPath(b.path));
    };
    const field = metric.field ? internPath(metric.field.path) : -1;
    for (const l of metric.labels) if (l.kind === "path") bind(l.path);
    for (const p of metric.params) if (p.kind === "path") bind(p.path);
    const values: CompiledValue[] = metric.states ? metric.states.values.map((s) => s.value) : [];
    if (metric.value) values.push(metric.value);
    for (const v of values) if (v.kind === "path") bind(v.path);
    const paramLists = new Map<string, number>();
    const valueStep = (value: CompiledValue): ValueStep => {
      if (value.kind !== "expression") {
        const constant: Evaluated | undefined =
          value.kind === "const" ? { ok: true, value: value.value } : undefined;
        return { value, constant, memo: undefined, params: -1 };
      }
      // Joined by a character no identifier can hold; in memoKey's order.
      const list = [...value.expression.params].join("\u0000");
      let params = paramLists.get(list);
      if (params === undefined) {
        params = paramLists.size;
        paramLists.set(list, params);
      }
      return { value, constant: undefined, memo: memoOf(value.expression), params };
    };
    const states = metric.states?.values.map((s) => valueStep(s.value));
    const value = metric.value ? valueStep(metric.value) : undefined;

    const keys = ["namespace", plan.objectLabel, ...metric.labels.map((l) => l.key)];
    if (metric.states) keys.push(metric.states.labelKey);
    const distinct = new Set(keys).size === keys.length;
    const stateTexts = metric.states?.values.map(
      (s) => `,${metric.states!.labelKey}="${escapeLabelValue(s.labelValue)}"`,
    );
    const distinctStates = stateTexts === undefined || new Set(stateTexts).size === stateTexts.length;
    const dedup = (perSlot.get(slot) ?? 0) > 1 || metric.field?.type === "Array" || !distinctStates;

    let direct: MetricProgram["direct"];
    if (distinct) {
      const lead: number[] = [];
      let i = 0;
      for (; i < metric.labels.length; i++) {
        const l = metric.labels[i]!;
        if (l.kind === "path" && l.path.rowRelative) break;
        lead.push(segmentFor(l));
      }
      const rest = metric.labels.slice(i).map((l): LabelStep => {
        const open = `,${l.key}="`;
        if (l.kind === "const") return { kind: "const", text: `${open}${escapeLabelValue(l.value)}"` };
        return l.path.rowRelative
          ? { kind: "row", open, path: l.path }
          : { kind: "shared", segment: segmentFor(l) };
      });
      const leadKey = lead.join(",");
      let prefix = prefixIndex.get(leadKey);
      if (prefix === undefined) {
        prefix = prefixes.push(lead) - 1;
        prefixIndex.set(leadKey, prefix);
      }
      direct = {
        open: `${metric.family}{`,
        prefix,
        rest,
        states: stateTexts,
        alone: perSlot.get(slot) === 1,
        acrossRows: perSlot.get(slot) === 1 && distinctStates,
      };
    }
    return { metric, slot, states, value, paths, field, direct, dedup };
  });

  /** Segments are keyed by key and path text (const labels by key and value). */
  function segmentFor(l: CompiledLabel): number {
    const id =
      l.kind === "const" ? `c\u0000${l.key}\u0000${l.value}` : `p\u0000${l.key}\u0000${l.path.path.source}`;
    let s = segmentIndex.get(id);
    if (s === undefined) {
      s = segments.length;
      segments.push(
        l.kind === "const"
          ? { open: `,${l.key}="${escapeLabelValue(l.value)}"`, path: -1 }
          : { open: `,${l.key}="`, path: internPath(l.path.path) },
      );
      segmentIndex.set(id, s);
    }
    return s;
  }

  return { metrics, paths: pathList, segments, prefixes };
}

// ---- per-object state ----

/** Not yet computed (undefined stays a real value: a label without one). */
const UNSET = Symbol("unset");

/**
 * What one object's metrics share: path results, label texts and label prefixes, each computed
 * on first use. A computation that throws (a limit) is not cached, so every metric that reads
 * it fails the same way, as each would on its own.
 */
class ObjectScope {
  private readonly results: (unknown[] | undefined)[];
  private readonly texts: (string | typeof UNSET)[];
  private readonly prefixes: (string | undefined)[];
  /** `{namespace="…",kind="…"` */
  readonly head: string;

  constructor(
    readonly root: unknown,
    readonly id: ObjectIdentity,
    readonly program: Program,
    objectLabel: string,
  ) {
    this.results = new Array<unknown[] | undefined>(program.paths.length);
    this.texts = new Array<string | typeof UNSET>(program.segments.length).fill(UNSET);
    this.prefixes = new Array<string | undefined>(program.prefixes.length);
    const name = `${objectLabel}="${escapeLabelValue(id.name)}"`;
    this.head = id.namespace === "" ? name : `namespace="${escapeLabelValue(id.namespace)}",${name}`;
  }

  /** Results of a path of metric `m` for `row`. */
  read(m: MetricProgram, bound: BoundPath, row: unknown): unknown[] {
    if (bound.rowRelative) return bound.path.evaluate(row);
    const i = m.paths.get(bound.path)!;
    return this.results[i] ?? this.evaluate(i);
  }

  /** Results of the whole-object path with this index. */
  path(i: number): unknown[] {
    return this.results[i] ?? this.evaluate(i);
  }

  private evaluate(i: number): unknown[] {
    const r = this.program.paths[i]!.evaluate(this.root);
    this.results[i] = r;
    return r;
  }

  /** `,key="value"` of a whole-object label, or "" when it has no value. */
  segment(s: number): string {
    const cached = this.texts[s]!;
    if (cached !== UNSET) return cached;
    const seg = this.program.segments[s]!;
    let text = seg.open;
    if (seg.path >= 0) {
      const value = formatResults(this.path(seg.path));
      text = value === undefined ? "" : `${seg.open}${escapeLabelValue(value)}"`;
    }
    this.texts[s] = text;
    return text;
  }

  /** The leading whole-object labels shared by the metrics that start with them, as text. */
  prefix(p: number): string {
    const cached = this.prefixes[p];
    if (cached !== undefined) return cached;
    let text = "";
    for (const s of this.program.prefixes[p]!) text += this.segment(s);
    this.prefixes[p] = text;
    return text;
  }
}

// ---- evaluation ----

type Pairs = [string, string][];

/** Later layers win when they yield a value; a key keeps the position it was first given. */
function setLabel(pairs: Pairs, key: string, value: string): void {
  for (const p of pairs) {
    if (p[0] === key) {
      p[1] = value;
      return;
    }
  }
  pairs.push([key, value]);
}

function evaluateParams(scope: ObjectScope, m: MetricProgram, row: unknown): Map<string, unknown> {
  const env = new Map<string, unknown>();
  for (const p of m.metric.params) {
    env.set(p.key, p.kind === "const" ? p.value : bindParam(scope.read(m, p.path, row)));
  }
  return env;
}

type Evaluated = Conversion & { reason?: string; kind?: EvaluationErrorReason };

/** The row being rendered, and what its values share: parameters and the last memo key. */
interface RowState {
  row: unknown;
  env: Map<string, unknown> | undefined;
  /** ValueStep.params of `key`; -1 when none was made for this row. */
  keyOf: number;
  key: string | undefined;
}

function evaluateValue(scope: ObjectScope, m: MetricProgram, step: ValueStep, rs: RowState): Evaluated {
  const value = step.value;
  switch (value.kind) {
    case "const":
      return step.constant!;
    case "path": {
      const all = scope.read(m, value.path, rs.row);
      let found: unknown;
      let n = 0;
      for (const r of all) {
        if (r === null || r === undefined) continue;
        if (n++ === 0) found = r;
      }
      if (n !== 1) {
        return {
          ok: false,
          kind: "path",
          reason: `valueFromPath ${JSON.stringify(value.path.source)} gave ${n} results; exactly one is needed`,
        };
      }
      const c = convertPathValue(found, m.metric.field?.type);
      return c.ok ? c : { ...c, kind: "conversion" };
    }
    case "expression": {
      const bindings = (rs.env ??= evaluateParams(scope, m, rs.row));
      if (rs.keyOf !== step.params) {
        rs.key = memoKey(value.expression, bindings);
        rs.keyOf = step.params;
      }
      const key = rs.key;
      const memo = step.memo!;
      const known = key === undefined ? undefined : memo.get(key);
      if (known !== undefined) return known;
      let result: unknown;
      try {
        result = value.expression.evaluate(bindings);
      } catch (err) {
        const message = err instanceof ExpressionError ? err.message : "internal error";
        return {
          ok: false,
          kind: "expression",
          reason: `${JSON.stringify(value.expression.source)}: ${message}`,
        };
      }
      const c = convertExpressionResult(result);
      if (!c.ok) return { ...c, kind: "conversion" };
      if (key !== undefined) {
        if (memo.size >= MEMO_SIZE) memo.clear();
        memo.set(key, c);
      }
      return c;
    }
  }
}

/**
 * Expressions are pure functions of their parameters, and most objects bind them to a handful of
 * values (`int(phase == 'Running')` per state, for every object of a kind): successful results are
 * remembered per expression, keyed by the parameters' text. Failures are always evaluated again
 * (their messages are cheap to lose and, for an internal error, need not be reproducible).
 */
const MEMO_SIZE = 512;
const memos = new WeakMap<CompiledExpression, Map<string, Evaluated>>();

function memoOf(expression: CompiledExpression): Map<string, Evaluated> {
  let m = memos.get(expression);
  if (!m) {
    m = new Map();
    memos.set(expression, m);
  }
  return m;
}

/** The parameters an expression reads, as one string; undefined when one is a structure. */
function memoKey(expression: CompiledExpression, bindings: ReadonlyMap<string, unknown>): string | undefined {
  let key = "";
  for (const name of expression.params) {
    const v = bindings.get(name);
    // Length-prefixed, so no value can be mistaken for a separator.
    if (typeof v === "string") key += `s${v.length}:${v}`;
    else if (v === ABSENT) key += "a";
    else if (v === undefined) key += "u";
    else return undefined;
  }
  return key;
}

/** The rows of SPEC §3.1; an empty list means the metric yields nothing for this object. */
function rowsOf(scope: ObjectScope, m: MetricProgram): readonly unknown[] {
  const field = m.metric.field;
  if (!field) return ONE_ROW;
  const results = scope.path(m.field);
  if (field.type === "Array") {
    return results.length === 1 && Array.isArray(results[0]) ? (results[0] as unknown[]) : [];
  }
  for (const r of results) if (r !== null && r !== undefined) return ONE_ROW;
  return [];
}

const ONE_ROW: readonly unknown[] = [undefined];

/**
 * Keys of the series of one family so far. Most objects give a family a handful of series,
 * which a list compares by length first; hashing each key for a Set costs more.
 */
class SeriesKeys {
  private list: string[] | undefined = [];
  private set: Set<string> | undefined;

  has(key: string): boolean {
    return this.list ? this.list.includes(key) : this.set!.has(key);
  }

  add(key: string): void {
    if (!this.list) {
      this.set!.add(key);
    } else if (this.list.push(key) > 16) {
      this.set = new Set(this.list);
      this.list = undefined;
    }
  }

  delete(key: string): void {
    if (!this.list) {
      this.set!.delete(key);
      return;
    }
    const i = this.list.indexOf(key);
    if (i >= 0) this.list.splice(i, 1);
  }
}

/** Collects one metric's series for one object; reset for the next metric. */
class Emitter {
  metric!: CompiledMetric;
  text = "";
  series = 0;
  /** Keys of the series emitted so far in this family, when duplicates are possible. */
  seen: SeriesKeys | undefined;
  /** Keys added to `seen` by this metric, to take back if it is dropped. */
  added: string[] | undefined;

  constructor(
    /** Per slot, once a metric of it has needed the duplicate check. */
    private readonly seenBySlot: (SeriesKeys | undefined)[],
    readonly hooks: EvaluationHooks,
  ) {}

  reset(metric: CompiledMetric): void {
    this.metric = metric;
    this.text = "";
    this.series = 0;
    this.seen = undefined;
    this.added = undefined;
  }

  /** From here on, check series against the others of the family (`slot`). */
  checkDuplicates(slot: number): void {
    this.seen = this.seenBySlot[slot] ??= new SeriesKeys();
    this.added = [];
  }

  fail(reason: EvaluationErrorReason, message: string): void {
    this.hooks.onError?.(this.metric, reason, message);
  }

  /**
   * Counts a series about to be written; false for a duplicate (reported, not written). `key`
   * tells it from the family's other series: its label text, or only the part that varies.
   */
  admit(key: string): boolean {
    if (this.seen) {
      if (this.seen.has(key)) {
        this.hooks.onDuplicate?.(this.metric.family);
        return false;
      }
      this.count();
      this.seen.add(key);
      this.added!.push(key);
      return true;
    }
    this.count();
    return true;
  }

  private count(): void {
    if (this.series >= EVALUATION_LIMITS.maxSeriesPerObject) {
      throw new BudgetExceeded(
        `more than ${EVALUATION_LIMITS.maxSeriesPerObject} series for one object; the first ${EVALUATION_LIMITS.maxSeriesPerObject} are kept`,
      );
    }
    this.series++;
  }
}

/**
 * Render one object for every metric of its target plan. Returns, per family slot of the plan,
 * the concatenated series lines (or undefined where the object yields nothing for that family).
 * When `counts` is given, it receives the number of series per slot.
 */
export function renderObject(
  plan: TargetPlan,
  obj: unknown,
  hooks: EvaluationHooks = {},
  counts?: number[],
): (string | undefined)[] {
  const out: (string | undefined)[] = new Array<string | undefined>(plan.families.length).fill(undefined);
  if (counts) {
    counts.length = plan.families.length;
    counts.fill(0);
  }
  const id = objectIdentity(obj);
  if (!id) return out;
  const program = programFor(plan);
  const scope = new ObjectScope(obj, id, program, plan.objectLabel);
  const emitter = new Emitter([], hooks);
  const rs: RowState = { row: undefined, env: undefined, keyOf: -1, key: undefined };

  for (const m of program.metrics) {
    const { metric, slot } = m;
    emitter.reset(metric);
    try {
      renderRows(plan, scope, m, emitter, rs);
    } catch (err) {
      if (err instanceof BudgetExceeded && emitter.series >= EVALUATION_LIMITS.maxSeriesPerObject) {
        // Deterministic: the first rows, in list order, are kept.
        emitter.fail("limit", err.message);
      } else if (err instanceof BudgetExceeded || err instanceof JsonPathLimitError) {
        // Nothing partial: this metric's series for this object are dropped.
        emitter.fail(err instanceof BudgetExceeded ? "limit" : "path", err.message);
        if (emitter.added) for (const labels of emitter.added) emitter.seen!.delete(labels);
        continue;
      } else {
        throw err;
      }
    }
    if (emitter.text !== "") {
      out[slot] = (out[slot] ?? "") + emitter.text;
      if (counts) counts[slot] = (counts[slot] ?? 0) + emitter.series;
    }
  }
  return out;
}

/** Every row of one metric for one object, through `emitter`; throws when over a budget. */
function renderRows(
  plan: TargetPlan,
  scope: ObjectScope,
  m: MetricProgram,
  emitter: Emitter,
  rs: RowState,
): void {
  const { metric, direct } = m;
  const rows = rowsOf(scope, m);
  if (rows.length === 0) return;
  // One row of a metric alone in its family, with distinct states, cannot repeat a series.
  if (m.dedup && !(direct?.acrossRows && rows.length === 1)) emitter.checkDuplicates(m.slot);
  // The first row is never late: the clock starts with the metric.
  const deadline = rows.length > 1 ? performance.now() + EVALUATION_LIMITS.maxMillisecondsPerObject : 0;
  // The identity labels and the leading whole-object ones are the same for every row: when
  // this metric is alone in its family, its series differ only in what follows them.
  const lead = direct ? scope.head + scope.prefix(direct.prefix) : "";
  const open = direct ? direct.open + lead : "";
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (r > 0 && performance.now() > deadline) {
      throw new BudgetExceeded(
        `took longer than ${EVALUATION_LIMITS.maxMillisecondsPerObject} ms for one object; its series for this object are dropped`,
      );
    }
    rs.row = row;
    rs.env = undefined;
    rs.keyOf = -1;

    if (direct) {
      let rest = "";
      for (const step of direct.rest) {
        if (step.kind === "const") {
          rest += step.text;
        } else if (step.kind === "shared") {
          rest += scope.segment(step.segment);
        } else {
          const text = formatResults(step.path.path.evaluate(row));
          if (text !== undefined) rest += `${step.open}${escapeLabelValue(text)}"`;
        }
      }
      if (m.states) {
        const states = direct.states!;
        for (let i = 0; i < m.states.length; i++) {
          const v = evaluateValue(scope, m, m.states[i]!, rs);
          if (!v.ok) {
            emitter.fail(v.kind ?? "conversion", v.reason);
            continue;
          }
          const tail = rest + states[i]!;
          if (emitter.admit(direct.alone ? tail : `{${lead}${tail}}`))
            emitter.text += `${open}${tail}} ${formatValue(v.value)}\n`;
        }
      } else if (m.value) {
        const v = evaluateValue(scope, m, m.value, rs);
        if (!v.ok) emitter.fail(v.kind ?? "conversion", v.reason);
        else if (emitter.admit(direct.alone ? rest : `{${lead}${rest}}`))
          emitter.text += `${open}${rest}} ${formatValue(v.value)}\n`;
      }
      continue;
    }

    const base: Pairs = [];
    if (scope.id.namespace !== "") base.push(["namespace", scope.id.namespace]);
    base.push([plan.objectLabel, scope.id.name]);
    for (const label of metric.labels) {
      if (label.kind === "const") {
        setLabel(base, label.key, label.value);
        continue;
      }
      const text = formatResults(scope.read(m, label.path, row));
      if (text !== undefined) setLabel(base, label.key, text);
    }
    if (metric.states && m.states) {
      for (let i = 0; i < m.states.length; i++) {
        const state = metric.states.values[i]!;
        const v = evaluateValue(scope, m, m.states[i]!, rs);
        if (!v.ok) {
          emitter.fail(v.kind ?? "conversion", v.reason);
          continue;
        }
        const pairs: Pairs = base.map(([k, val]) => [k, val]);
        setLabel(pairs, metric.states.labelKey, state.labelValue);
        const labels = renderLabels(pairs);
        if (emitter.admit(labels)) emitter.text += seriesLine(metric.family, labels, v.value);
      }
    } else if (m.value) {
      const v = evaluateValue(scope, m, m.value, rs);
      if (!v.ok) emitter.fail(v.kind ?? "conversion", v.reason);
      else {
        const labels = renderLabels(base);
        if (emitter.admit(labels)) emitter.text += seriesLine(metric.family, labels, v.value);
      }
    }
  }
}
