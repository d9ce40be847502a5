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

export function evaluate(
  root: Node,
  params: ReadonlyMap<string, unknown>,
  maxSteps: number,
  regexes: RegexCache,
): unknown {
  let steps = 0;
  const budget: StepBudget = {
    spend(n = 1) {
      steps += n;
      if (steps > maxSteps) throw new ExpressionError(`evaluation exceeded ${maxSteps} steps`);
    },
  };
  const fail = (message: string, pos: number): ExpressionError =>
    new ExpressionError(`${message} at ${pos}`, pos);

  const asBoolean = (node: Node, what: string): boolean => {
    const v = visit(node);
    const b = toBoolean(v);
    if (b === undefined) throw fail(`${what} expects a boolean, got ${describe(v)}`, node.pos);
    return b;
  };

  const visit = (node: Node): unknown => {
    budget.spend();
    switch (node.type) {
      case "literal":
        return node.value;
      case "param":
        return readParam(node.name, node.fields, node.pos);
      case "unary":
        if (node.op === "!") return !asBoolean(node.operand, '"!"');
        {
          const v = visit(node.operand);
          const n = toNumber(v);
          if (n === undefined) throw fail(`"-" expects a number, got ${describe(v)}`, node.pos);
          return -n;
        }
      case "binary":
        return binary(node.op, visit(node.left), visit(node.right), node.pos);
      case "logical":
        if (node.op === "??") {
          const l = visit(node.left);
          return isNothing(l) ? visit(node.right) : l;
        }
        if (node.op === "&&") return asBoolean(node.left, '"&&"') && asBoolean(node.right, '"&&"');
        return asBoolean(node.left, '"||"') || asBoolean(node.right, '"||"');
      case "ternary":
        return asBoolean(node.cond, '"? :"') ? visit(node.then) : visit(node.else);
      case "match": {
        const subjectValue = visit(node.left);
        const subject = toText(subjectValue);
        if (subject === undefined)
          throw fail(`${node.op} expects a string, got ${describe(subjectValue)}`, node.pos);
        if (subject.length > MAX_SUBJECT_LENGTH) {
          throw fail(`${node.op}: string is longer than ${MAX_SUBJECT_LENGTH} characters`, node.pos);
        }
        let re = node.regex;
        if (re === undefined) {
          const pattern = visit(node.right);
          if (typeof pattern !== "string") {
            throw fail(
              `the pattern of ${node.op} must be a string, got ${describe(pattern)}`,
              node.right.pos,
            );
          }
          re = regexes.get(pattern, node.right.pos);
        }
        return re.test(subject) === (node.op === "=~");
      }
      case "in": {
        const needle = visit(node.left);
        if (Array.isArray(node.items)) {
          for (const item of node.items as readonly Node[]) {
            if (valuesEqual(needle, visit(item), budget)) return true;
          }
          return false;
        }
        const hay = visit(node.items as Node);
        if (!Array.isArray(hay)) throw fail(`IN expects a list, got ${describe(hay)}`, node.pos);
        for (const item of hay as readonly unknown[]) {
          if (valuesEqual(needle, item, budget)) return true;
        }
        return false;
      }
      case "call": {
        const fn = FUNCTIONS.get(node.name);
        if (fn === undefined) throw fail(`unknown function "${node.name}"`, node.pos);
        const args = node.args.map(visit);
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
  };

  const readParam = (name: string, fields: readonly string[], pos: number): unknown => {
    if (!params.has(name)) throw fail(`unknown parameter "${name}"`, pos);
    let v = params.get(name);
    if (v === undefined) v = ABSENT;
    for (const f of fields) {
      budget.spend();
      if (isNothing(v)) return ABSENT;
      if (!isPlainMap(v)) throw fail(`cannot read field "${f}" of ${describe(v)}`, pos);
      v = readOwn(v, f);
    }
    return v;
  };

  const binary = (op: BinaryOp, l: unknown, r: unknown, pos: number): unknown => {
    switch (op) {
      case "==":
        return valuesEqual(l, r, budget);
      case "!=":
        return !valuesEqual(l, r, budget);
      case "<":
      case ">":
      case "<=":
      case ">=":
        return compare(op, l, r, pos);
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
  };

  const compare = (op: "<" | ">" | "<=" | ">=", l: unknown, r: unknown, pos: number): boolean => {
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
  };

  return visit(root);
}
