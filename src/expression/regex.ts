/**
 * Regular expressions for `=~` / `!~`. JavaScript's engine backtracks, Go's (RE2) does not, so
 * patterns are restricted to what RE2 accepts and screened for the cheap-to-spot exponential
 * shapes: a quantified group whose body is itself unboundedly quantified ("(a+)+", "(x*)*").
 * Backreferences and lookaround (not RE2) are rejected, Go's leading inline flags "(?i)" and
 * named groups "(?P<n>…)" are translated. Pattern and subject lengths are bounded.
 */
import { ExpressionError } from "./values.js";

export const MAX_PATTERN_LENGTH = 256;
export const MAX_SUBJECT_LENGTH = 4096;

export function compileRegex(pattern: string, pos: number): RegExp {
  const fail = (why: string): ExpressionError =>
    new ExpressionError(`invalid regular expression: ${why} at ${pos}`, pos);
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw fail(`pattern is ${pattern.length} characters long, the limit is ${MAX_PATTERN_LENGTH}`);
  }
  let body = pattern;
  let flags = "";
  const inline = /^\(\?([ims]+)\)/.exec(body);
  if (inline !== null) {
    flags = [...new Set(inline[1])].join("");
    body = body.slice(inline[0].length);
  }
  body = body.replaceAll("(?P<", "(?<");
  screen(body, fail);
  try {
    return new RegExp(body, flags);
  } catch (e) {
    throw fail(e instanceof Error ? e.message.replace(/^Invalid regular expression: /, "") : String(e));
  }
}

interface Group {
  /** Body contains a quantifier that can repeat without bound. */
  unbounded: boolean;
}

function screen(body: string, fail: (why: string) => ExpressionError): void {
  const stack: Group[] = [{ unbounded: false }];
  let i = 0;
  const top = (): Group => stack[stack.length - 1]!;
  // Does an unbounded quantifier ("*", "+", "{n,}", "{n,m}" with m > 1) start at j?
  const unboundedQuantifier = (j: number): boolean => {
    const c = body[j];
    if (c === "*" || c === "+") return true;
    if (c !== "{") return false;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(body.slice(j));
    if (m === null || m[2] === undefined) return false;
    return m[3] === undefined || m[3] === "" || Number(m[3]) > 1;
  };
  while (i < body.length) {
    const c = body[i]!;
    if (c === "\\") {
      const e = body[i + 1];
      if (e !== undefined && /[1-9k]/.test(e)) throw fail("backreferences are not supported");
      i += 2;
      continue;
    }
    if (c === "[") {
      // Skip the class; a "]" right after "[" or "[^" is literal.
      let j = i + 1;
      if (body[j] === "^") j++;
      if (body[j] === "]") j++;
      while (j < body.length && body[j] !== "]") j += body[j] === "\\" ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c === "(") {
      if (/^\(\?(?:[=!]|<[=!])/.test(body.slice(i))) throw fail("lookaround is not supported");
      if (body[i + 1] === "?" && !/^\(\?(?::|<[A-Za-z])/.test(body.slice(i))) {
        throw fail("inline flags are only supported at the start, as (?i), (?m) or (?s)");
      }
      stack.push({ unbounded: false });
      i++;
      continue;
    }
    if (c === ")") {
      const closed = stack.length > 1 ? stack.pop()! : { unbounded: false };
      const j = i + 1;
      if (unboundedQuantifier(j)) {
        if (closed.unbounded) throw fail("nested repetition such as (a+)+ can take exponential time");
        top().unbounded = true;
      } else if (closed.unbounded) {
        top().unbounded = true;
      }
      i++;
      continue;
    }
    if (unboundedQuantifier(i)) top().unbounded = true;
    i++;
  }
}
