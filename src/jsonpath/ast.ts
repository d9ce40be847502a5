/**
 * Syntax tree of the Kubernetes JSONPath dialect (SPEC §4). `pos` is the 0-based offset of the
 * step in the source, kept only so that later checks can point at the offending text.
 */

export type CompareOp = "==" | "!=" | "<" | ">" | "<=" | ">=";

/** Filter literals; kubectl has no null literal (it cannot compare nil), so neither do we. */
export type Literal = string | number | boolean;

export interface FieldStep {
  readonly kind: "field";
  readonly name: string;
  /** Written as `.name` rather than `['name']`; only validation cares (`.length`). */
  readonly bare: boolean;
  readonly pos: number;
}

/** `.*`: the values of a map or the elements of a list. */
export interface WildcardStep {
  readonly kind: "wildcard";
  readonly pos: number;
}

/** `[*]`: the elements of a list (kubectl rejects `[*]` on a map). */
export interface EachStep {
  readonly kind: "each";
  readonly pos: number;
}

export interface IndexStep {
  readonly kind: "index";
  readonly index: number;
  readonly pos: number;
}

export interface SliceStep {
  readonly kind: "slice";
  readonly start: number | undefined;
  readonly end: number | undefined;
  readonly step: number | undefined;
  readonly pos: number;
}

export type UnionPart = FieldStep | IndexStep | SliceStep;

export interface UnionStep {
  readonly kind: "union";
  readonly parts: readonly UnionPart[];
  readonly pos: number;
}

/** `..name`: the field `name` of the current value and of every container below it. */
export interface DescendantStep {
  readonly kind: "descendant";
  readonly name: string;
  readonly bare: boolean;
  readonly pos: number;
}

export interface Comparison {
  readonly op: CompareOp;
  readonly value: Literal;
}

/** `[?(@path OP literal)]`, or `[?(@path)]` (existence) when `test` is undefined. */
export interface FilterStep {
  readonly kind: "filter";
  readonly path: readonly Step[];
  readonly test: Comparison | undefined;
  readonly pos: number;
}

export type Step =
  | FieldStep
  | WildcardStep
  | EachStep
  | IndexStep
  | SliceStep
  | UnionStep
  | DescendantStep
  | FilterStep;

export interface PathAst {
  readonly steps: readonly Step[];
}

/** Structural equality that ignores positions and spelling (`.a` equals `['a']`). */
export function stepEquals(a: Step, b: Step): boolean {
  switch (a.kind) {
    case "field":
      return b.kind === "field" && a.name === b.name;
    case "wildcard":
    case "each":
      return b.kind === a.kind;
    case "index":
      return b.kind === "index" && a.index === b.index;
    case "slice":
      return b.kind === "slice" && a.start === b.start && a.end === b.end && a.step === b.step;
    case "union":
      return (
        b.kind === "union" &&
        a.parts.length === b.parts.length &&
        a.parts.every((part, i) => {
          const other = b.parts[i];
          return other !== undefined && stepEquals(part, other);
        })
      );
    case "descendant":
      return b.kind === "descendant" && a.name === b.name;
    case "filter":
      return (
        b.kind === "filter" &&
        stepsEqual(a.path, b.path) &&
        (a.test === undefined
          ? b.test === undefined
          : b.test !== undefined && a.test.op === b.test.op && Object.is(a.test.value, b.test.value))
      );
  }
}

export function stepsEqual(a: readonly Step[], b: readonly Step[]): boolean {
  return (
    a.length === b.length &&
    a.every((step, i) => {
      const other = b[i];
      return other !== undefined && stepEquals(step, other);
    })
  );
}
