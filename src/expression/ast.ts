import type { Matcher } from "./regex.js";

/** Syntax tree of a parsed expression. `pos` is the 1-based offset of the node's token. */

export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "**" | "==" | "!=" | "<" | ">" | "<=" | ">=";

export type Node =
  | { readonly type: "literal"; readonly value: number | string | boolean; readonly pos: number }
  /** A parameter, optionally followed by `.field` reads into a bound map. */
  | {
      readonly type: "param";
      readonly name: string;
      readonly fields: readonly string[];
      readonly pos: number;
    }
  | { readonly type: "unary"; readonly op: "-" | "!"; readonly operand: Node; readonly pos: number }
  | {
      readonly type: "binary";
      readonly op: BinaryOp;
      readonly left: Node;
      readonly right: Node;
      readonly pos: number;
    }
  | {
      readonly type: "logical";
      readonly op: "&&" | "||" | "??";
      readonly left: Node;
      readonly right: Node;
      readonly pos: number;
    }
  | {
      readonly type: "match";
      readonly op: "=~" | "!~";
      readonly left: Node;
      readonly right: Node;
      readonly pos: number;
      /** Filled by the static checks when the pattern is a literal: compiled once. */
      regex?: Matcher;
    }
  | {
      readonly type: "in";
      readonly left: Node;
      /** A parenthesised list, or any expression that must evaluate to a list. */
      readonly items: readonly Node[] | Node;
      readonly pos: number;
    }
  | {
      readonly type: "ternary";
      readonly cond: Node;
      readonly then: Node;
      readonly else: Node;
      readonly pos: number;
    }
  | { readonly type: "call"; readonly name: string; readonly args: readonly Node[]; readonly pos: number };
