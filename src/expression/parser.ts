/**
 * Recursive-descent parser with govaluate's precedence, lowest first:
 *   ? :   ??   ||   &&   comparators (== != < > <= >= =~ !~ IN)   + -   * / %   **   prefix - !
 * Binary operators are left-associative (`**` too, as in govaluate); `? :` is right-associative.
 * Recursion is counted so that hostile nesting fails with a message instead of a stack overflow.
 */
import type { BinaryOp, Node } from "./ast.js";
import { tokenize, type Token } from "./lexer.js";
import { ExpressionError } from "./values.js";

export interface ParseLimits {
  readonly maxDepth: number;
}

const COMPARATORS = new Set(["==", "!=", "<", ">", "<=", ">="]);

export function parse(source: string, limits: ParseLimits): Node {
  return new Parser(tokenize(source), limits.maxDepth).parseAll();
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly maxDepth: number,
  ) {}

  parseAll(): Node {
    if (this.peek().kind === "eof") throw new ExpressionError("empty expression", 1);
    const node = this.nested(() => this.ternary());
    const t = this.peek();
    if (t.kind !== "eof") throw this.unexpected(t);
    return node;
  }

  private peek(): Token {
    // The token list always ends with eof and the index never passes it.
    return this.tokens[this.i]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.text === text;
  }

  private isKeywordIn(): boolean {
    const t = this.peek();
    return t.kind === "ident" && t.escaped !== true && (t.text === "IN" || t.text === "in");
  }

  private expect(text: string, what: string): Token {
    const t = this.peek();
    if (t.kind !== "op" || t.text !== text) {
      throw new ExpressionError(`expected ${what} but found ${show(t)} at ${t.pos}`, t.pos);
    }
    return this.next();
  }

  private unexpected(t: Token): ExpressionError {
    return new ExpressionError(`unexpected ${show(t)} at ${t.pos}`, t.pos);
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > this.maxDepth) {
      const pos = this.peek().pos;
      throw new ExpressionError(
        `expression nested too deeply (more than ${this.maxDepth} levels) at ${pos}`,
        pos,
      );
    }
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private ternary(): Node {
    const cond = this.coalesce();
    if (!this.isOp("?")) return cond;
    const pos = this.next().pos;
    const then = this.nested(() => this.ternary());
    this.expect(":", '":" of the conditional');
    const otherwise = this.nested(() => this.ternary());
    return { type: "ternary", cond, then, else: otherwise, pos };
  }

  private coalesce(): Node {
    let left = this.or();
    while (this.isOp("??")) {
      const pos = this.next().pos;
      left = { type: "logical", op: "??", left, right: this.or(), pos };
    }
    return left;
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp("||")) {
      const pos = this.next().pos;
      left = { type: "logical", op: "||", left, right: this.and(), pos };
    }
    return left;
  }

  private and(): Node {
    let left = this.comparison();
    while (this.isOp("&&")) {
      const pos = this.next().pos;
      left = { type: "logical", op: "&&", left, right: this.comparison(), pos };
    }
    return left;
  }

  private comparison(): Node {
    let left = this.additive();
    for (;;) {
      const t = this.peek();
      if (t.kind === "op" && COMPARATORS.has(t.text)) {
        this.next();
        left = { type: "binary", op: t.text as BinaryOp, left, right: this.additive(), pos: t.pos };
      } else if (t.kind === "op" && (t.text === "=~" || t.text === "!~")) {
        this.next();
        left = { type: "match", op: t.text, left, right: this.additive(), pos: t.pos };
      } else if (this.isKeywordIn()) {
        this.next();
        left = { type: "in", left, items: this.inItems(), pos: t.pos };
      } else {
        return left;
      }
    }
  }

  private inItems(): readonly Node[] | Node {
    if (!this.isOp("(")) return this.additive();
    this.next();
    return this.nested(() => {
      const items: Node[] = [];
      if (!this.isOp(")")) {
        items.push(this.ternary());
        while (this.isOp(",")) {
          this.next();
          items.push(this.ternary());
        }
      }
      this.expect(")", '")" closing the IN list');
      return items;
    });
  }

  private additive(): Node {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.text !== "+" && t.text !== "-")) return left;
      this.next();
      left = { type: "binary", op: t.text, left, right: this.multiplicative(), pos: t.pos };
    }
  }

  private multiplicative(): Node {
    let left = this.exponential();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.text !== "*" && t.text !== "/" && t.text !== "%")) return left;
      this.next();
      left = { type: "binary", op: t.text, left, right: this.exponential(), pos: t.pos };
    }
  }

  private exponential(): Node {
    let left = this.prefix();
    while (this.isOp("**")) {
      const pos = this.next().pos;
      left = { type: "binary", op: "**", left, right: this.prefix(), pos };
    }
    return left;
  }

  private prefix(): Node {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "-" || t.text === "!")) {
      this.next();
      const operand = this.nested(() => this.prefix());
      return { type: "unary", op: t.text, operand, pos: t.pos };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return { type: "literal", value: t.value!, pos: t.pos };
      case "string":
        return { type: "literal", value: t.text, pos: t.pos };
      case "ident":
        return this.identifier(t);
      case "op":
        if (t.text === "(") {
          const inner = this.nested(() => this.ternary());
          this.expect(")", '")"');
          this.rejectPostfix("a parenthesised expression");
          return inner;
        }
        throw this.unexpected(t);
      case "eof":
        throw new ExpressionError(`unexpected end of expression at ${t.pos}`, t.pos);
    }
  }

  private identifier(t: Token): Node {
    if (t.escaped !== true) {
      if (t.text === "true" || t.text === "false") {
        this.rejectPostfix(t.text);
        return { type: "literal", value: t.text === "true", pos: t.pos };
      }
      if (t.text === "IN" || t.text === "in") throw this.unexpected(t);
      if (this.isOp("(")) return this.call(t);
    }
    const fields: string[] = [];
    while (this.isOp(".")) {
      this.next();
      const f = this.next();
      if (f.kind !== "ident") {
        throw new ExpressionError(`expected a field name after "." but found ${show(f)} at ${f.pos}`, f.pos);
      }
      fields.push(f.text);
    }
    this.rejectPostfix(`parameter "${[t.text, ...fields].join(".")}"`);
    return { type: "param", name: t.text, fields, pos: t.pos };
  }

  private call(name: Token): Node {
    this.next(); // "("
    const args = this.nested(() => {
      const list: Node[] = [];
      if (!this.isOp(")")) {
        list.push(this.ternary());
        while (this.isOp(",")) {
          this.next();
          list.push(this.ternary());
        }
      }
      this.expect(")", `")" closing the arguments of ${name.text}()`);
      return list;
    });
    this.rejectPostfix(`the result of ${name.text}()`);
    return { type: "call", name: name.text, args, pos: name.pos };
  }

  /** Only named functions can be called and only parameters have fields. */
  private rejectPostfix(what: string): void {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "(" || t.text === ".")) {
      const action = t.text === "(" ? "be called" : "have fields";
      throw new ExpressionError(`${what} cannot ${action} at ${t.pos}`, t.pos);
    }
  }
}

function show(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "end of expression";
    case "number":
      return `number ${t.text}`;
    case "string":
      return `string ${JSON.stringify(t.text)}`;
    case "ident":
      return `"${t.text}"`;
    case "op":
      return `"${t.text}"`;
  }
}
