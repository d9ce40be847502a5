/**
 * Tree-walking evaluator. Every node visit costs one step from a fixed budget, deep equality
 * and IN lists included, so that no expression/input pair can run unbounded.
 */
import type { BinaryOp, Node } from "./ast.js";
import { FUNCTIONS, FunctionError } from "./functions.js";
import { compileRegex, type Matcher, MAX_SUBJECT_LENGTH } from "./regex.js";
import {
  ABSENT,
  describe,
  ExpressionError,
  isNothing,
  isPlainMap,
  readOwn,
  type StepBudget,
  toBoolean,
  toNumber,
  toText,
  valuesEqual,
} from "./values.js";

const REGEX_CACHE_SIZE = 32;
const NO_PARAMS: ReadonlyMap<string, unknown> = new Map();

/** Regexes built from parameter values, kept per compiled expression (values repeat a lot). */
export class RegexCache {
  private readonly map = new Map<string, Matcher>();

  get(pattern: string, pos: number): Matcher {
    let re = this.map.get(pattern);
    if (re === undefined) {
      re = compileRegex(pattern, pos);
      if (this.map.size >= REGEX_CACHE_SIZE) this.map.clear();
      this.map.set(pattern, re);
    }
    return re;
  }
}

/**
 * One per compiled expression and reused across evaluations, so a call allocates nothing but
 * its result. Not re-entrant, and need not be: evaluation never calls back into expression code.
 */
export class Evaluator implements StepBudget {
  private steps = 0;
  private params = NO_PARAMS;
  private readonly regexes = new RegexCache();

  constructor(
    private readonly root: Node,
    private readonly maxSteps: number,
  ) {}

  run(params: ReadonlyMap<string, unknown>): unknown {
    this.params = params;
    this.steps = 0;
    try {
      return this.visit(this.root);
    } finally {
      this.params = NO_PARAMS;
    }
  }

  spend(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new ExpressionError(`evaluation exceeded ${this.maxSteps} steps`);
  }

  private asBoolean(node: Node, what: string): boolean {
    const v = this.visit(node);
    const b = toBoolean(v);
    if (b === undefined) throw fail(`${what} expects a boolean, got ${describe(v)}`, node.pos);
    return b;
  }

  private visit(node: Node): unknown {
    this.spend();
    switch (node.type) {
      case "literal":
        return node.value;
      case "param":
        return this.readParam(node.name, node.fields, node.pos);
      case "unary":
        if (node.op === "!") return !this.asBoolean(node.operand, '"!"');
        {
          const v = this.visit(node.operand);
          const n = toNumber(v);
          if (n === undefined) throw fail(`"-" expects a number, got ${describe(v)}`, node.pos);
          return -n;
        }
      case "binary":
        return this.binary(node.op, this.visit(node.left), this.visit(node.right), node.pos);
      case "logical":
        if (node.op === "??") {
          const l = this.visit(node.left);
          return isNothing(l) ? this.visit(node.right) : l;
        }
        if (node.op === "&&") return this.asBoolean(node.left, '"&&"') && this.asBoolean(node.right, '"&&"');
        return this.asBoolean(node.left, '"||"') || this.asBoolean(node.right, '"||"');
      case "ternary":
        return this.asBoolean(node.cond, '"? :"') ? this.visit(node.then) : this.visit(node.else);
      case "match": {
        const subjectValue = this.visit(node.left);
        const subject = toText(subjectValue);
        if (subject === undefined)
          throw fail(`${node.op} expects a string, got ${describe(subjectValue)}`, node.pos);
        if (subject.length > MAX_SUBJECT_LENGTH) {
          throw fail(`${node.op}: string is longer than ${MAX_SUBJECT_LENGTH} characters`, node.pos);
        }
        let re = node.regex;
        if (re === undefined) {
          const pattern = this.visit(node.right);
          if (typeof pattern !== "string") {
            throw fail(
              `the pattern of ${node.op} must be a string, got ${describe(pattern)}`,
              node.right.pos,
            );
          }
          re = this.regexes.get(pattern, node.right.pos);
        }
        return re.test(subject) === (node.op === "=~");
      }
      case "in": {
        const needle = this.visit(node.left);
        if (Array.isArray(node.items)) {
          for (const item of node.items as readonly Node[]) {
            if (valuesEqual(needle, this.visit(item), this)) return true;
          }
          return false;
        }
        const hay = this.visit(node.items as Node);
        if (!Array.isArray(hay)) throw fail(`IN expects a list, got ${describe(hay)}`, node.pos);
        for (const item of hay as readonly unknown[]) {
          if (valuesEqual(needle, item, this)) return true;
        }
        return false;
      }
      case "call": {
        const fn = FUNCTIONS.get(node.name);
        if (fn === undefined) throw fail(`unknown function "${node.name}"`, node.pos);
        const args = node.args.map((a) => this.visit(a));
        try {
          return fn.call(args);
        } catch (e) {
          if (!(e instanceof FunctionError)) throw e;
          const argNode = e.argIndex === undefined ? undefined : node.args[e.argIndex];
          let message = e.message.startsWith(`${node.name}(`) ? e.message : `${node.name}(): ${e.message}`;
          if (e.absent && argNode?.type === "param") {
            const name = [argNode.name, ...argNode.fields].join(".");
            message = `${node.name}(): argument ${e.argIndex! + 1} (parameter "${name}") has no value`;
          }
          throw fail(message, argNode?.pos ?? node.pos);
        }
      }
    }
  }

  private readParam(name: string, fields: readonly string[], pos: number): unknown {
    if (!this.params.has(name)) throw fail(`unknown parameter "${name}"`, pos);
    let v = this.params.get(name);
    if (v === undefined) v = ABSENT;
    for (const f of fields) {
      this.spend();
      if (isNothing(v)) return ABSENT;
      if (!isPlainMap(v)) throw fail(`cannot read field "${f}" of ${describe(v)}`, pos);
      v = readOwn(v, f);
    }
    return v;
  }

  private binary(op: BinaryOp, l: unknown, r: unknown, pos: number): unknown {
    switch (op) {
      case "==":
        return valuesEqual(l, r, this);
      case "!=":
        return !valuesEqual(l, r, this);
      case "<":
      case ">":
      case "<=":
      case ">=":
        return this.compare(op, l, r, pos);
      case "+": {
        const ln = toNumber(l);
        const rn = toNumber(r);
        if (ln !== undefined && rn !== undefined) return ln + rn;
        if (typeof l === "string" || typeof r === "string") {
          const lt = toText(l);
          const rt = toText(r);
          if (lt !== undefined && rt !== undefined) return lt + rt;
        }
        throw fail(`cannot add ${describe(l)} and ${describe(r)}`, pos);
      }
      default: {
        const ln = toNumber(l);
        const rn = toNumber(r);
        if (ln === undefined || rn === undefined) {
          throw fail(`"${op}" expects numbers, got ${describe(ln === undefined ? l : r)}`, pos);
        }
        switch (op) {
          case "-":
            return ln - rn;
          case "*":
            return ln * rn;
          case "/":
            return ln / rn;
          case "%":
            return ln % rn;
          case "**":
            return ln ** rn;
        }
      }
    }
  }

  private compare(op: "<" | ">" | "<=" | ">=", l: unknown, r: unknown, pos: number): boolean {
    const ln = toNumber(l);
    const rn = toNumber(r);
    let a: number | string;
    let b: number | string;
    if (ln !== undefined && rn !== undefined) {
      a = ln;
      b = rn;
    } else if (typeof l === "string" && typeof r === "string") {
      a = l;
      b = r;
    } else {
      throw fail(`"${op}" cannot compare ${describe(l)} with ${describe(r)}`, pos);
    }
    switch (op) {
      case "<":
        return a < b;
      case ">":
        return a > b;
      case "<=":
        return a <= b;
      case ">=":
        return a >= b;
    }
  }
}

function fail(message: string, pos: number): ExpressionError {
  return new ExpressionError(`${message} at ${pos}`, pos);
}
