/**
 * AST back to source, in the canonical spelling our parser reads back to an equal AST. Used for
 * the remainder of a row-relative path (SPEC §3.2), so it must round-trip for every step kind.
 */
import type { Literal, Step, UnionPart } from "./ast.js";

const BARE_NAME = /^[\p{L}\p{N}\p{M}_\-/:+#%]+$/u;

function quoteKey(name: string): string {
  return `'${name.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function printName(name: string): string {
  return BARE_NAME.test(name) && name !== "length" ? `.${name}` : `[${quoteKey(name)}]`;
}

function printLiteral(value: Literal): string {
  // JSON string escapes are a subset of what the filter literal parser accepts.
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function printPart(part: UnionPart): string {
  switch (part.kind) {
    case "field":
      return quoteKey(part.name);
    case "index":
      return String(part.index);
    case "slice":
      return [part.start, part.end, part.step]
        .slice(0, part.step === undefined ? 2 : 3)
        .map((n) => (n === undefined ? "" : String(n)))
        .join(":");
  }
}

export function printStep(step: Step): string {
  switch (step.kind) {
    case "field":
      return printName(step.name);
    case "wildcard":
      return ".*";
    case "each":
      return "[*]";
    case "index":
    case "slice":
      return `[${printPart(step)}]`;
    case "union":
      return `[${step.parts.map(printPart).join(",")}]`;
    case "descendant": {
      const name = printName(step.name);
      return name.startsWith(".") ? `.${name}` : `..${name}`;
    }
    case "filter": {
      const path = `@${step.path.map(printStep).join("")}`;
      return step.test === undefined
        ? `[?(${path})]`
        : `[?(${path} ${step.test.op} ${printLiteral(step.test.value)})]`;
    }
  }
}

export function printSteps(steps: readonly Step[]): string {
  return steps.length === 0 ? "." : steps.map(printStep).join("");
}
