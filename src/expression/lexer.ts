/** Tokens of the expression language. Positions are 1-based character offsets. */
import { ExpressionError } from "./values.js";

export type TokenKind = "number" | "string" | "ident" | "op" | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** Operator text, identifier name, decoded string, or number source. */
  readonly text: string;
  readonly value?: number;
  /** A `[bracketed]` parameter name: never a keyword or function. */
  readonly escaped?: boolean;
  readonly pos: number;
}

// Longest first, so that `**` wins over `*` and `??` over `?`.
const OPERATORS = [
  "**",
  "==",
  "!=",
  "<=",
  ">=",
  "=~",
  "!~",
  "&&",
  "||",
  "??",
  "+",
  "-",
  "*",
  "/",
  "%",
  "<",
  ">",
  "!",
  "?",
  ":",
  "(",
  ")",
  ",",
  ".",
] as const;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  t: "\t",
  r: "\r",
};

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isIdentStart = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z_]$/.test(c);
const isIdentPart = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9_]$/.test(c);

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const pos = i + 1;
    if (isDigit(c) || (c === "." && isDigit(source[i + 1]))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
      const text = m![0];
      if (isIdentPart(source[i + text.length])) {
        throw new ExpressionError(
          `malformed number "${text}${source[i + text.length] ?? ""}…" at ${pos}`,
          pos,
        );
      }
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ExpressionError(`number ${text} is out of range at ${pos}`, pos);
      tokens.push({ kind: "number", text, value, pos });
      i += text.length;
      continue;
    }
    if (c === "'" || c === '"') {
      let out = "";
      let j = i + 1;
      for (;;) {
        const d = source[j];
        if (d === undefined) throw new ExpressionError(`unterminated string starting at ${pos}`, pos);
        if (d === c) break;
        if (d === "\\") {
          const e = source[j + 1];
          if (e === undefined) throw new ExpressionError(`unterminated string starting at ${pos}`, pos);
          const simple = SIMPLE_ESCAPES[e];
          if (simple !== undefined) {
            out += simple;
            j += 2;
          } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(source.slice(j + 2, j + 6))) {
            out += String.fromCharCode(parseInt(source.slice(j + 2, j + 6), 16));
            j += 6;
          } else {
            // Kept verbatim so regex patterns read naturally: '\d+' means \d+, not d+.
            out += d + e;
            j += 2;
          }
          continue;
        }
        out += d;
        j++;
      }
      tokens.push({ kind: "string", text: out, pos });
      i = j + 1;
      continue;
    }
    if (c === "[") {
      // govaluate's escaped parameter name: [any name-ish text]
      const close = source.indexOf("]", i + 1);
      if (close < 0) throw new ExpressionError(`unterminated [parameter] starting at ${pos}`, pos);
      const name = source.slice(i + 1, close);
      if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) {
        throw new ExpressionError(`invalid parameter name [${name}] at ${pos}`, pos);
      }
      tokens.push({ kind: "ident", text: name, pos, escaped: true });
      i = close + 1;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (isIdentPart(source[j])) j++;
      tokens.push({ kind: "ident", text: source.slice(i, j), pos });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op === undefined) {
      const shown = c === "`" ? "backtick" : JSON.stringify(c);
      throw new ExpressionError(`unexpected character ${shown} at ${pos}`, pos);
    }
    tokens.push({ kind: "op", text: op, pos });
    i += op.length;
  }
  tokens.push({ kind: "eof", text: "", pos: n + 1 });
  return tokens;
}
