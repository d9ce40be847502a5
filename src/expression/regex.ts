/**
 * Regular expressions for `=~` / `!~`, matched by a small Thompson-NFA simulation instead of
 * JavaScript's backtracking engine. Patterns come from configurations and, at runtime, from
 * object fields anyone with write access to the target resource controls; with a backtracking
 * engine even "a*a*a*$" against a 1 KiB string runs for minutes. Simulating all states at once
 * costs O(pattern × subject) whatever the input, and matches Go's RE2 semantics, which
 * Panopticon's govaluate used: leftmost search, `$` at end of text only, no backreferences or
 * lookaround. Only "does it match" is needed, so captures and laziness are irrelevant.
 *
 * Supported: literals, `.`, classes `[a-z]` `[^…]`, `\d \D \w \W \s \S`, `\b \B \A \z`,
 * `^ $`, groups `(…)` `(?:…)` `(?P<n>…)` `(?<n>…)`, flags `(?i)` `(?m)` `(?s)` `(?U)` and
 * `(?i:…)`, alternation, quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted), escapes
 * `\n \t \r \f \v \xHH \x{H…}` and escaped punctuation.
 */
import { ExpressionError } from "./values.js";

export const MAX_PATTERN_LENGTH = 256;
export const MAX_SUBJECT_LENGTH = 4096;
/** NFA instructions; bounds the per-character cost. */
const MAX_PROGRAM = 2000;
const MAX_REPEAT = 1000;

export interface Matcher {
  /** True when the pattern matches anywhere in the subject. */
  test(subject: string): boolean;
}

interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
}

type CharTest = (cp: number) => boolean;
type AssertKind = "bol" | "eol" | "bot" | "eot" | "word" | "notword";

type Re =
  | { readonly t: "char"; readonly test: CharTest }
  | { readonly t: "assert"; readonly kind: AssertKind }
  | { readonly t: "cat"; readonly items: readonly Re[] }
  | { readonly t: "alt"; readonly items: readonly Re[] }
  | { readonly t: "repeat"; readonly item: Re; readonly min: number; readonly max: number };

type Inst =
  | { op: "char"; test: CharTest; next: number }
  | { op: "split"; a: number; b: number }
  | { op: "jmp"; to: number }
  | { op: "assert"; kind: AssertKind; next: number }
  | { op: "match" };

export function compileRegex(pattern: string, pos: number): Matcher {
  const fail = (why: string): ExpressionError =>
    new ExpressionError(
      `invalid regular expression ${JSON.stringify(truncate(pattern))}: ${why} at ${pos}`,
      pos,
    );
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw fail(`pattern is ${pattern.length} characters long, the limit is ${MAX_PATTERN_LENGTH}`);
  }
  const tree = new RegexParser(pattern, fail).parse();
  const program = compile(tree, fail);
  return { test: (subject) => run(program, subject) };
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// ---------------------------------------------------------------- parsing

const cp = (s: string): number => s.codePointAt(0)!;
const isWordCp = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigitCp = (c: number): boolean => c >= 48 && c <= 57;
const isSpaceCp = (c: number): boolean => c === 9 || c === 10 || c === 12 || c === 13 || c === 32;

const PERL_CLASSES: Readonly<Record<string, CharTest>> = {
  d: isDigitCp,
  D: (c) => !isDigitCp(c),
  w: isWordCp,
  W: (c) => !isWordCp(c),
  s: isSpaceCp,
  S: (c) => !isSpaceCp(c),
};

const CONTROL_ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7 };

function foldCase(test: CharTest, flags: Flags): CharTest {
  if (!flags.i) return test;
  return (c) => {
    if (test(c)) return true;
    const s = String.fromCodePoint(c);
    const lower = s.toLowerCase();
    const upper = s.toUpperCase();
    return (lower.length === s.length && test(cp(lower))) || (upper.length === s.length && test(cp(upper)));
  };
}

class RegexParser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly fail: (why: string) => ExpressionError,
  ) {}

  parse(): Re {
    const re = this.alternation({ i: false, m: false, s: false });
    if (this.i < this.src.length) throw this.fail(`unexpected ")" at offset ${this.i}`);
    return re;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  /** alternation := concat ("|" concat)*  — flags set by (?i) last to the end of the group. */
  private alternation(flags: Flags): Re {
    if (++this.depth > 64) throw this.fail("groups nested too deeply");
    const items: Re[] = [];
    const state = { flags };
    items.push(this.concat(state));
    while (this.peek() === "|") {
      this.i++;
      items.push(this.concat(state));
    }
    this.depth--;
    return items.length === 1 ? items[0]! : { t: "alt", items };
  }

  private concat(state: { flags: Flags }): Re {
    const items: Re[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") break;
      if (c === "(" && this.src.startsWith("(?", this.i)) {
        const m = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(this.src.slice(this.i));
        if (m !== null && m[3] === ")") {
          // (?flags) applies to the rest of the enclosing group.
          this.i += m[0].length;
          state.flags = applyFlags(state.flags, m[1] ?? "", m[2] ?? "");
          continue;
        }
      }
      const atom = this.atom(state.flags);
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? items[0]! : { t: "cat", items };
  }

  private quantified(atom: Re): Re {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === "*" || c === "+" || c === "?") {
      this.i++;
      [min, max] = c === "*" ? [0, Infinity] : c === "+" ? [1, Infinity] : [0, 1];
    } else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (m === null) return atom; // a "{" that is not a repetition is a literal, as in Go
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) {
        throw this.fail(`invalid repeat count ${m[0]}`);
      }
    } else {
      return atom;
    }
    if (this.peek() === "?") this.i++; // lazy: the same for a yes/no match
    const next = this.peek();
    if (
      next === "*" ||
      next === "+" ||
      next === "?" ||
      (next === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i)))
    ) {
      throw this.fail("invalid nested repetition operator");
    }
    return { t: "repeat", item: atom, min, max };
  }

  private atom(flags: Flags): Re {
    const c = this.src[this.i]!;
    this.i++;
    switch (c) {
      case "*":
      case "+":
      case "?":
        throw this.fail(`missing argument to repetition operator "${c}"`);
      case ".":
        return { t: "char", test: flags.s ? () => true : (x) => x !== 10 };
      case "^":
        return { t: "assert", kind: flags.m ? "bol" : "bot" };
      case "$":
        return { t: "assert", kind: flags.m ? "eol" : "eot" };
      case "[":
        return { t: "char", test: this.charClass(flags) };
      case "(":
        return this.group(flags);
      case "\\":
        return this.escape(flags);
      default: {
        const code = this.src.codePointAt(this.i - 1)!;
        if (code > 0xffff) this.i++;
        return { t: "char", test: foldCase((x) => x === code, flags) };
      }
    }
  }

  private group(flags: Flags): Re {
    let inner = flags;
    if (this.peek() === "?") {
      const rest = this.src.slice(this.i);
      const named = /^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest);
      const flagged = /^\?([imsU]*)(?:-([imsU]*))?:/.exec(rest);
      if (named !== null) {
        this.i += named[0].length;
      } else if (flagged !== null) {
        this.i += flagged[0].length;
        inner = applyFlags(flags, flagged[1] ?? "", flagged[2] ?? "");
      } else if (/^\?<?[=!]/.test(rest)) {
        throw this.fail("lookaround is not supported");
      } else {
        throw this.fail("invalid or unsupported group syntax");
      }
    }
    const re = this.alternation(inner);
    if (this.peek() !== ")") throw this.fail('missing ")"');
    this.i++;
    return re;
  }

  private escape(flags: Flags): Re {
    const e = this.src[this.i];
    if (e === undefined) throw this.fail("trailing backslash");
    this.i++;
    const perl = PERL_CLASSES[e];
    if (perl !== undefined) return { t: "char", test: perl };
    switch (e) {
      case "b":
        return { t: "assert", kind: "word" };
      case "B":
        return { t: "assert", kind: "notword" };
      case "A":
        return { t: "assert", kind: "bot" };
      case "z":
        return { t: "assert", kind: "eot" };
    }
    const code = this.escapedCodePoint(e);
    return { t: "char", test: foldCase((x) => x === code, flags) };
  }

  /** A single-character escape (after the backslash was consumed and e read). */
  private escapedCodePoint(e: string): number {
    const control = CONTROL_ESCAPES[e];
    if (control !== undefined) return control;
    if (e === "x") {
      const m = /^(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))/.exec(this.src.slice(this.i));
      if (m === null) throw this.fail("invalid \\x escape");
      this.i += m[0].length;
      const code = parseInt(m[1] ?? m[2] ?? "", 16);
      if (code > 0x10ffff) throw this.fail("invalid \\x escape");
      return code;
    }
    if (/[1-9]/.test(e)) throw this.fail("backreferences are not supported");
    if (/[A-Za-z0-9]/.test(e)) throw this.fail(`unsupported escape \\${e}`);
    return cp(e);
  }

  private charClass(flags: Flags): CharTest {
    const negated = this.peek() === "^";
    if (negated) this.i++;
    const parts: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.fail('missing "]"');
      if (c === "]" && !first) {
        this.i++;
        break;
      }
      first = false;
      if (this.src.startsWith("[:", this.i))
        throw this.fail("POSIX classes like [:alpha:] are not supported");
      if (c === "\\") {
        const e = this.src[this.i + 1];
        const perl = e === undefined ? undefined : PERL_CLASSES[e];
        if (perl !== undefined) {
          this.i += 2;
          parts.push(perl);
          continue;
        }
      }
      const lo = this.classChar();
      if (this.peek() === "-" && this.src[this.i + 1] !== "]" && this.src[this.i + 1] !== undefined) {
        this.i++;
        const hi = this.classChar();
        if (hi < lo) throw this.fail("invalid character class range");
        parts.push((x) => x >= lo && x <= hi);
      } else {
        parts.push((x) => x === lo);
      }
    }
    // Fold case before negating: (?i)[^a] must reject "A" too.
    const any = foldCase((x) => parts.some((p) => p(x)), flags);
    return negated ? (x) => !any(x) : any;
  }

  private classChar(): number {
    const c = this.src[this.i]!;
    this.i++;
    if (c === "\\") {
      const e = this.src[this.i];
      if (e === undefined) throw this.fail("trailing backslash");
      this.i++;
      return this.escapedCodePoint(e);
    }
    const code = this.src.codePointAt(this.i - 1)!;
    if (code > 0xffff) this.i++;
    return code;
  }
}

function applyFlags(flags: Flags, on: string, off: string): Flags {
  return {
    i: off.includes("i") ? false : on.includes("i") || flags.i,
    m: off.includes("m") ? false : on.includes("m") || flags.m,
    s: off.includes("s") ? false : on.includes("s") || flags.s,
  };
}

// ---------------------------------------------------------------- compiling

function compile(tree: Re, fail: (why: string) => ExpressionError): Inst[] {
  const prog: Inst[] = [];
  const emit = (inst: Inst): number => {
    if (prog.length >= MAX_PROGRAM) throw fail("pattern is too large once repetitions are expanded");
    prog.push(inst);
    return prog.length - 1;
  };
  // Placeholder targets are patched once the following instruction's index is known.
  const gen = (re: Re): void => {
    switch (re.t) {
      case "char": {
        const at = emit({ op: "char", test: re.test, next: -1 });
        (prog[at] as { next: number }).next = prog.length;
        return;
      }
      case "assert": {
        const at = emit({ op: "assert", kind: re.kind, next: -1 });
        (prog[at] as { next: number }).next = prog.length;
        return;
      }
      case "cat":
        for (const item of re.items) gen(item);
        return;
      case "alt": {
        const jumps: number[] = [];
        re.items.forEach((item, k) => {
          if (k < re.items.length - 1) {
            const split = emit({ op: "split", a: -1, b: -1 });
            (prog[split] as { a: number }).a = prog.length;
            gen(item);
            jumps.push(emit({ op: "jmp", to: -1 }));
            (prog[split] as { b: number }).b = prog.length;
          } else {
            gen(item);
          }
        });
        for (const j of jumps) (prog[j] as { to: number }).to = prog.length;
        return;
      }
      case "repeat": {
        for (let k = 0; k < re.min; k++) gen(re.item);
        if (re.max === Infinity) {
          const split = emit({ op: "split", a: -1, b: -1 });
          (prog[split] as { a: number }).a = prog.length;
          gen(re.item);
          emit({ op: "jmp", to: split });
          (prog[split] as { b: number }).b = prog.length;
        } else {
          const splits: number[] = [];
          for (let k = re.min; k < re.max; k++) {
            const split = emit({ op: "split", a: -1, b: -1 });
            (prog[split] as { a: number }).a = prog.length;
            splits.push(split);
            gen(re.item);
          }
          for (const s of splits) (prog[s] as { b: number }).b = prog.length;
        }
        return;
      }
    }
  };
  gen(tree);
  emit({ op: "match" });
  return prog;
}

// ---------------------------------------------------------------- matching

function run(prog: readonly Inst[], subject: string): boolean {
  const chars = Array.from(subject, (ch) => cp(ch));
  const n = chars.length;
  const mark = new Int32Array(prog.length).fill(-1);
  let generation = 0;
  let current: number[] = [];
  let next: number[] = [];

  const assertionHolds = (kind: AssertKind, at: number): boolean => {
    const before = at > 0 ? chars[at - 1] : undefined;
    const after = at < n ? chars[at] : undefined;
    switch (kind) {
      case "bot":
        return at === 0;
      case "eot":
        return at === n;
      case "bol":
        return at === 0 || before === 10;
      case "eol":
        return at === n || after === 10;
      case "word":
      case "notword": {
        const boundary =
          (before !== undefined && isWordCp(before)) !== (after !== undefined && isWordCp(after));
        return kind === "word" ? boundary : !boundary;
      }
    }
  };

  /** Adds pc and its epsilon closure at position `at`; true when a match state is reached. */
  const add = (list: number[], start: number, at: number): boolean => {
    const stack = [start];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (mark[pc] === generation) continue;
      mark[pc] = generation;
      const inst = prog[pc]!;
      switch (inst.op) {
        case "match":
          return true;
        case "char":
          list.push(pc);
          break;
        case "jmp":
          stack.push(inst.to);
          break;
        case "split":
          stack.push(inst.b, inst.a);
          break;
        case "assert":
          if (assertionHolds(inst.kind, at)) stack.push(inst.next);
          break;
      }
    }
    return false;
  };

  for (let at = 0; ; at++) {
    // Unanchored search: a new thread may start at every position.
    if (add(current, 0, at)) return true;
    if (at === n) return false;
    const c = chars[at]!;
    generation++;
    next.length = 0;
    for (const pc of current) {
      const inst = prog[pc] as Extract<Inst, { op: "char" }>;
      if (inst.test(c) && add(next, inst.next, at + 1)) return true;
    }
    [current, next] = [next, current];
  }
}
