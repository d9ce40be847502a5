/**
 * Parser for the Kubernetes JSONPath dialect (SPEC §4). It is deliberately stricter than
 * kubectl's own parser: anything kubectl would read differently from what a user of jsonpath-plus
 * expects (templates, scripts, extensions) is an error here, with the offending position.
 */
import type {
  CompareOp,
  FieldStep,
  FilterStep,
  IndexStep,
  Literal,
  PathAst,
  SliceStep,
  Step,
  UnionPart,
} from "./ast.js";
import { fail } from "./errors.js";

/**
 * Characters a bare field name may contain without escaping: what Kubernetes keys use (label and
 * annotation keys, ConfigMap keys, CRD field names) plus a few harmless extras. Everything else
 * needs `\` or the quoted form, so that jsonpath-plus syntax can never slip in unnoticed.
 */
const NAME_CHAR = /^[\p{L}\p{N}\p{M}_\-/:+#%]$/u;
const NUMBER = /[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const INTEGER = /-?\d+/y;
const WORD = /[A-Za-z_]\w*/y;
const OPERATOR_CHARS = "=!<>";
const OPERATORS: ReadonlySet<string> = new Set(["==", "!=", "<", ">", "<=", ">="]);
const PLUS_FILTER_VARIABLES: ReadonlySet<string> = new Set([
  "property",
  "parent",
  "parentProperty",
  "path",
  "root",
]);

export function parsePath(source: string): PathAst {
  return { steps: new Parser(source).parseTop() };
}

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parseTop(): Step[] {
    const src = this.src;
    this.skipWs();
    if (this.pos >= src.length) this.error("empty path", 0);
    const braceAt = src[this.pos] === "{" ? this.pos : -1;
    if (braceAt >= 0) {
      this.pos++;
    } else if (!".$[@".includes(src[this.pos] ?? ".") && src.includes("{")) {
      this.error("text outside the braces is not supported");
    }
    const steps = this.parseInner();
    const wsAt = this.pos;
    this.skipWs();
    if (this.pos > wsAt && this.pos < src.length && src[this.pos] !== "}" && src[this.pos] !== "{") {
      this.error("unexpected space inside the path", wsAt);
    }
    if (braceAt >= 0) {
      if (this.pos >= src.length) {
        this.error(`unbalanced braces: '{' at position ${braceAt} is never closed`, braceAt);
      }
      if (src[this.pos] !== "}") this.unexpected("top");
      this.pos++;
      this.skipWs();
    }
    if (this.pos < src.length) {
      if (src[this.pos] === "{") {
        this.error("multiple {} blocks are not supported: write one path per field");
      }
      if (src[this.pos] === "}") this.error("unbalanced braces: '}' without '{'");
      if (braceAt >= 0) this.error("text outside the braces is not supported");
      this.unexpected("top");
    }
    return steps;
  }

  private parseInner(): Step[] {
    const src = this.src;
    this.skipWs();
    let rooted = false;
    if (src[this.pos] === "$") {
      this.pos++;
      rooted = true;
    } else if (src[this.pos] === "@") {
      this.error("'@' (the current element) is only valid inside a filter [?(...)]");
    }
    if (!rooted && src[this.pos] === "." && this.atEndOfPath(this.pos + 1)) {
      this.pos++;
      return [];
    }
    if (this.atEndOfPath(this.pos)) {
      if (rooted) return [];
      this.error("empty path");
    }
    const c = src[this.pos];
    if (c !== "." && c !== "[") {
      WORD.lastIndex = this.pos;
      const word = WORD.exec(src)?.[0];
      if (word === "range" || word === "end") {
        this.error(`'${word}' templates are not supported: a path selects values; use [*] to iterate a list`);
      }
      if (rooted) this.error("expected '.' or '[' after '$'");
      if (word !== undefined) {
        this.error(`a path starts with '.', '$' or '[' (did you mean '.${word}'?)`);
      }
      this.unexpected("top");
    }
    return this.parseSteps(false);
  }

  /** Steps until something that cannot continue a path; the caller decides if that is an error. */
  private parseSteps(inFilter: boolean): Step[] {
    const src = this.src;
    const steps: Step[] = [];
    for (;;) {
      const c = src[this.pos];
      const at = this.pos;
      if (c === ".") {
        if (src[this.pos + 1] === ".") {
          if (inFilter) this.error("recursive descent '..' is not supported inside a filter");
          steps.push(this.parseDescendant());
          continue;
        }
        this.pos++;
        if (src[this.pos] === "*") {
          this.pos++;
          this.checkNameEnd(inFilter, "'*' must stand alone: write .* or [*]");
          steps.push({ kind: "wildcard", pos: at });
          continue;
        }
        steps.push(this.parseBareField(at, inFilter));
        continue;
      }
      if (c === "[") {
        steps.push(this.parseBracket(inFilter));
        continue;
      }
      if (c !== undefined && c !== "}" && !isWs(c) && !(inFilter && isFilterStop(c))) {
        this.unexpected(inFilter ? "filter" : "top");
      }
      return steps;
    }
  }

  private parseBareField(at: number, inFilter: boolean): FieldStep {
    const name = this.readBareName();
    if (name === "") {
      if (this.src[this.pos] === "[") {
        this.error("expected a field name after '.': write [...] directly, without a '.'");
      }
      if (this.pos >= this.src.length || this.src[this.pos] === "}") {
        this.error("expected a field name after '.'");
      }
      this.unexpected(inFilter ? "filter" : "top");
    }
    this.checkNameEnd(inFilter);
    return { kind: "field", name, bare: true, pos: at };
  }

  private readBareName(): string {
    const src = this.src;
    let name = "";
    while (this.pos < src.length) {
      const ch = charAt(src, this.pos);
      if (ch === "\\") {
        const escaped = charAt(src, this.pos + 1);
        if (escaped === "") this.error("dangling '\\' at the end of the path");
        name += escaped;
        this.pos += 1 + escaped.length;
      } else if (NAME_CHAR.test(ch)) {
        name += ch;
        this.pos += ch.length;
      } else {
        break;
      }
    }
    return name;
  }

  /** After a name or `*`: only a step boundary may follow, anything else gets a precise message. */
  private checkNameEnd(inFilter: boolean, starMessage?: string): void {
    const c = this.src[this.pos];
    if (c === undefined || c === "." || c === "[" || c === "}" || isWs(c)) return;
    if (inFilter && isFilterStop(c)) return;
    if (c === "*" && starMessage !== undefined) this.error(starMessage);
    this.unexpected(inFilter ? "filter" : "top");
  }

  private parseDescendant(): Step {
    const src = this.src;
    const at = this.pos;
    this.pos += 2;
    const c = src[this.pos];
    if (c === "[" && (src[this.pos + 1] === "'" || src[this.pos + 1] === '"')) {
      const step = this.parseBracket(false);
      if (step.kind === "field") return { kind: "descendant", name: step.name, bare: false, pos: at };
      this.error("'..' must be followed by one field name", at);
    }
    if (c === "*") {
      this.error("'..*' is not supported: follow '..' with a field name");
    }
    if (c === "[") {
      this.error("'..' must be followed by a field name ('..[...]' fails in kubectl on any map)", at);
    }
    if (c === ".") this.error("'...' is not valid: '..' must be followed by a field name", at);
    const name = this.readBareName();
    if (name === "") this.error("'..' must be followed by a field name", at);
    this.checkNameEnd(false);
    return { kind: "descendant", name, bare: true, pos: at };
  }

  private parseBracket(inFilter: boolean): Step {
    const src = this.src;
    const at = this.pos;
    if (src.startsWith("[?(", at)) {
      if (inFilter) this.error("nested filters are not supported");
      return this.parseFilter();
    }
    if (src[at + 1] === "?") this.error("filters are written [?(@.field OP value)]", at);
    if (src[at + 1] === "(") {
      this.error("script expressions [(...)] are not supported", at);
    }
    this.pos++;
    this.skipWs();
    if (src[this.pos] === "*") {
      this.pos++;
      this.skipWs();
      if (src[this.pos] === "]") {
        this.pos++;
        return { kind: "each", pos: at };
      }
      this.error("'*' cannot be combined with other selectors in brackets", at + 1);
    }
    if (src[this.pos] === "]") this.error("empty brackets '[]'", at);
    const parts: UnionPart[] = [];
    for (;;) {
      this.skipWs();
      parts.push(this.parseBracketPart());
      this.skipWs();
      const c = src[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "]") {
        this.pos++;
        break;
      }
      if (c === undefined) {
        this.error(`unbalanced brackets: '[' at position ${at} is never closed`, at);
      }
      this.error(`unexpected ${JSON.stringify(c)} in brackets`);
    }
    const first = parts[0];
    if (parts.length === 1 && first !== undefined) return first;
    return { kind: "union", parts, pos: at };
  }

  private parseBracketPart(): UnionPart {
    const src = this.src;
    const at = this.pos;
    const c = src[this.pos];
    if (c === "'" || c === '"') {
      return { kind: "field", name: this.parseQuoted("key", false), bare: false, pos: at };
    }
    if (c === "-" || c === ":" || (c !== undefined && c >= "0" && c <= "9")) {
      return this.parseIndexOrSlice();
    }
    if (c === "*") this.error("'*' cannot be part of a union");
    if (c === "(") this.error("script expressions are not supported");
    if (c === "?") this.error("a filter must be the only selector in its brackets");
    if (c === "@") this.error("'@' is only valid at the start of a filter [?(...)]");
    if (c === "`") {
      this.error("backtick escapes are a jsonpath-plus extension: quote the key, ['...']");
    }
    if (c === undefined) this.error("unbalanced brackets: missing ']'");
    if (c === "]" || c === ",") this.error("empty selector in brackets");
    WORD.lastIndex = at;
    const word = WORD.exec(src)?.[0];
    if (word !== undefined) this.error(`keys in brackets must be quoted: ['${word}']`);
    this.error(`unexpected ${JSON.stringify(c)} in brackets`);
  }

  private parseIndexOrSlice(): IndexStep | SliceStep {
    const at = this.pos;
    const start = this.readInteger();
    if (this.src[this.pos] !== ":") {
      if (start === undefined) this.error("expected an index");
      return { kind: "index", index: start, pos: at };
    }
    this.pos++;
    const end = this.readInteger();
    let step: number | undefined;
    if (this.src[this.pos] === ":") {
      this.pos++;
      step = this.readInteger();
    }
    return { kind: "slice", start, end, step, pos: at };
  }

  private readInteger(): number | undefined {
    INTEGER.lastIndex = this.pos;
    const m = INTEGER.exec(this.src);
    if (m === null) {
      if (this.src[this.pos] === "-") this.error("expected digits after '-'");
      return undefined;
    }
    const value = Number(m[0]);
    if (!Number.isSafeInteger(value)) this.error(`index ${m[0]} is too large`);
    this.pos += m[0].length;
    return value;
  }

  private parseFilter(): FilterStep {
    const src = this.src;
    const at = this.pos;
    this.pos += 3;
    this.skipWs();
    const c = src[this.pos];
    if (c === "!") this.error("negation '!' is not supported in filters");
    if (c === "$") this.error("a filter tests the current element: start it with '@'");
    if (c !== "@") this.error("a filter starts with '@' (the current element)");
    this.pos++;
    WORD.lastIndex = this.pos;
    const word = WORD.exec(src)?.[0];
    if (word !== undefined) {
      if (PLUS_FILTER_VARIABLES.has(word)) {
        this.error(`'@${word}' is a jsonpath-plus extension, not Kubernetes JSONPath`, this.pos - 1);
      }
      this.error("expected '.' or '[' after '@'");
    }
    const path = this.parseSteps(true);
    this.skipWs();
    let test: FilterStep["test"];
    if (src[this.pos] !== ")" && OPERATOR_CHARS.includes(src[this.pos] ?? " ")) {
      const opAt = this.pos;
      while (OPERATOR_CHARS.includes(src[this.pos] ?? " ")) this.pos++;
      const op = src.slice(opAt, this.pos);
      if (!OPERATORS.has(op)) {
        this.error(`unknown operator '${op}': use one of == != < > <= >=`, opAt);
      }
      this.skipWs();
      test = { op: op as CompareOp, value: this.parseLiteral() };
      this.skipWs();
    }
    const end = src[this.pos];
    if (end === "&" || end === "|") {
      this.error("boolean operators && and || are not supported: a filter has one comparison");
    }
    if (end !== ")") {
      if (end === undefined) this.error(`unterminated filter starting at position ${at}`, at);
      this.error(`expected ')' to close the filter, found ${JSON.stringify(end)}`);
    }
    this.pos++;
    if (src[this.pos] !== "]") this.error("expected ']' after the filter's ')'");
    this.pos++;
    return { kind: "filter", path, test, pos: at };
  }

  private parseLiteral(): Literal {
    const src = this.src;
    const c = src[this.pos];
    if (c === "'" || c === '"') return this.parseQuoted("string", true);
    if (c === "@") this.error("the right side of a comparison must be a literal, not a path");
    NUMBER.lastIndex = this.pos;
    const num = NUMBER.exec(src)?.[0];
    if (num !== undefined) {
      this.pos += num.length;
      const value = Number(num);
      if (!Number.isFinite(value)) this.error(`number ${num} is out of range`);
      return value;
    }
    WORD.lastIndex = this.pos;
    const word = WORD.exec(src)?.[0];
    if (word === "true" || word === "false") {
      this.pos += word.length;
      return word === "true";
    }
    if (word === "null") {
      this.error(
        "null literals are not supported (kubectl cannot compare null): use an existence filter [?(@.field)]",
      );
    }
    if (word !== undefined) this.error(`unknown literal '${word}': quote strings`);
    if (c === undefined) this.error("expected a literal after the operator");
    this.error(`expected a literal, found ${JSON.stringify(c)}`);
  }

  /**
   * Quoted keys take `\x` as a literal x (so `\.` and `\'` work as in kubectl); string literals in
   * filters also understand the usual JSON escapes, as kubectl unquotes them like Go strings.
   */
  private parseQuoted(what: "key" | "string", jsonEscapes: boolean): string {
    const src = this.src;
    const at = this.pos;
    const quote = src[this.pos];
    this.pos++;
    let out = "";
    for (;;) {
      const ch = src[this.pos];
      if (ch === undefined) this.error(`unterminated quoted ${what} starting at position ${at}`, at);
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch !== "\\") {
        out += ch;
        this.pos++;
        continue;
      }
      const esc = src[this.pos + 1];
      if (esc === undefined) this.error(`unterminated quoted ${what} starting at position ${at}`, at);
      this.pos += 2;
      if (!jsonEscapes) {
        out += esc;
        continue;
      }
      out += this.jsonEscape(esc);
    }
  }

  private jsonEscape(esc: string): string {
    switch (esc) {
      case "\\":
      case "'":
      case '"':
      case "/":
        return esc;
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const hex = this.src.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.error("expected 4 hex digits after \\u");
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        return this.error(`unsupported escape '\\${esc}' in string`, this.pos - 2);
    }
  }

  private unexpected(context: "top" | "filter"): never {
    const c = charAt(this.src, this.pos);
    const messages: Record<string, string> = {
      "(": "script expressions and function calls are not supported",
      ")": "script expressions and function calls are not supported",
      "^": "the parent selector '^' is a jsonpath-plus extension, not Kubernetes JSONPath",
      "~": "the property-name selector '~' is a jsonpath-plus extension, not Kubernetes JSONPath",
      "`": "backtick escapes are a jsonpath-plus extension: quote the key, ['...']",
      "@": "'@' is only valid at the start of a filter [?(...)]",
      "'": "quotes are only allowed inside brackets: ['key']",
      '"': "quotes are only allowed inside brackets: ['key']",
      "*": "'*' must stand alone: write .* or [*]",
      ",": "unions need brackets: [0,1] or ['a','b']",
      "?": "filters are written [?(@.field OP value)]",
      $: "'$' is only valid at the start of a path",
      "{": "text outside the braces or multiple {} blocks are not supported",
      "}": "unbalanced braces: '}' without '{'",
      "]": "unbalanced brackets: ']' without '['",
    };
    if (context === "top" && (c === "=" || c === "!" || c === "<" || c === ">")) {
      this.error("comparisons are only valid inside a filter [?(...)]");
    }
    if (context === "top" && c !== "" && isWs(c)) {
      this.error("unexpected space inside the path");
    }
    this.error(messages[c] ?? `unexpected character ${JSON.stringify(c)}`);
  }

  private atEndOfPath(at: number): boolean {
    const c = this.src[at];
    return c === undefined || c === "}" || isWs(c);
  }

  private skipWs(): void {
    while (isWs(this.src[this.pos] ?? "")) this.pos++;
  }

  private error(message: string, at = this.pos): never {
    fail(this.src, at, message);
  }
}

function isWs(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** Characters that end the path on the left of a filter comparison. */
function isFilterStop(c: string): boolean {
  return c === ")" || OPERATOR_CHARS.includes(c);
}

/** One whole code point, so surrogate pairs in keys are never split. */
function charAt(s: string, i: number): string {
  const cp = s.codePointAt(i);
  return cp === undefined ? "" : String.fromCodePoint(cp);
}
