/**
 * Static checks run once at load time, so that a misspelt function or parameter is reported
 * when the configuration is read rather than as an evaluation error on every object.
 */
import type { Node } from "./ast.js";
import { FUNCTIONS } from "./functions.js";
import { compileRegex } from "./regex.js";
import { ExpressionError } from "./values.js";

export interface CheckOptions {
  readonly knownParams?: ReadonlySet<string>;
  /** Operator nesting of the tree; bounds the evaluator's recursion. */
  readonly maxHeight: number;
}

/** Validates the tree, compiles literal regexes in place, and returns the parameters read. */
export function check(root: Node, options: CheckOptions): Set<string> {
  const params = new Set<string>();
  const visit = (node: Node, height: number): void => {
    if (height > options.maxHeight) {
      throw new ExpressionError(
        `expression is too complex (more than ${options.maxHeight} nested operations) at ${node.pos}`,
        node.pos,
      );
    }
    const h = height + 1;
    switch (node.type) {
      case "literal":
        return;
      case "param": {
        const known = options.knownParams;
        if (known !== undefined && !known.has(node.name)) {
          throw new ExpressionError(
            `unknown parameter "${node.name}"${suggest(node.name, known)} at ${node.pos}`,
            node.pos,
          );
        }
        params.add(node.name);
        return;
      }
      case "unary":
        visit(node.operand, h);
        return;
      case "binary":
      case "logical":
        visit(node.left, h);
        visit(node.right, h);
        return;
      case "match":
        visit(node.left, h);
        visit(node.right, h);
        if (node.right.type === "literal") {
          if (typeof node.right.value !== "string") {
            throw new ExpressionError(
              `the pattern of ${node.op} must be a string at ${node.right.pos}`,
              node.right.pos,
            );
          }
          node.regex = compileRegex(node.right.value, node.right.pos);
        }
        return;
      case "in":
        visit(node.left, h);
        if (Array.isArray(node.items)) {
          for (const item of node.items as readonly Node[]) visit(item, h);
        } else {
          visit(node.items as Node, h);
        }
        return;
      case "ternary":
        visit(node.cond, h);
        visit(node.then, h);
        visit(node.else, h);
        return;
      case "call": {
        const fn = FUNCTIONS.get(node.name);
        if (fn === undefined) {
          throw new ExpressionError(
            `unknown function "${node.name}"${suggest(node.name, FUNCTIONS.keys())} at ${node.pos}`,
            node.pos,
          );
        }
        const n = node.args.length;
        if (n < fn.minArgs || n > fn.maxArgs) {
          const expected =
            fn.minArgs === fn.maxArgs
              ? `${fn.minArgs} argument${fn.minArgs === 1 ? "" : "s"}`
              : `${fn.minArgs} to ${fn.maxArgs} arguments`;
          throw new ExpressionError(`${node.name}() expects ${expected}, got ${n} at ${node.pos}`, node.pos);
        }
        for (const a of node.args) visit(a, h);
        return;
      }
    }
  };
  visit(root, 1);
  return params;
}

/** ` (did you mean "x"?)` for a close spelling, else nothing. */
function suggest(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance; names are short, so the quadratic table is fine. */
function distance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
