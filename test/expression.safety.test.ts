import { describe, expect, it } from "@jest/globals";
import { compileExpression, ExpressionError, LIMITS } from "../src/expression/index.js";
import { errorOf, run } from "./expression.helpers.js";

/** Compiles and, when that succeeds, evaluates with the given bindings; returns the error. */
function failure(source: string, params: Record<string, unknown> = {}): ExpressionError {
  return errorOf(source, params);
}

describe("limits", () => {
  it("caps the source length", () => {
    const ok = "1" + " ".repeat(LIMITS.maxSourceLength - 1);
    expect(run(ok)).toBe(1);
    expect(failure(ok + " ").message).toBe("expression is 4097 characters long, the limit is 4096");
  });

  it("caps nesting depth without overflowing the stack", () => {
    const nest = (k: number): string => "(".repeat(k) + "1" + ")".repeat(k);
    expect(run(nest(LIMITS.maxNestingDepth - 1))).toBe(1);
    expect(failure(nest(LIMITS.maxNestingDepth)).message).toMatch(
      /^expression nested too deeply \(more than 64 levels\)/,
    );
    expect(failure(nest(2000)).message).toMatch(/^expression nested too deeply/);
    expect(failure("(".repeat(4000)).message).toMatch(/^expression nested too deeply/);
    expect(failure("!".repeat(100) + "true").message).toMatch(/^expression nested too deeply/);
    expect(failure("- ".repeat(100) + "1").message).toMatch(/^expression nested too deeply/);
    expect(failure("int(".repeat(100) + "1" + ")".repeat(100)).message).toMatch(
      /^expression nested too deeply/,
    );
    expect(failure("true ? ".repeat(100) + "1" + " : 2".repeat(100)).message).toMatch(
      /^expression nested too deeply/,
    );
  });

  it("caps long operator chains", () => {
    expect(run("1" + " + 1".repeat(200))).toBe(201);
    expect(failure("1" + "+1".repeat(1500)).message).toMatch(
      /^expression is too complex \(more than 256 nested operations\)/,
    );
    expect(failure("x" + "||x".repeat(1000)).message).toMatch(/^expression is too complex/);
  });

  it("caps evaluation steps", () => {
    const big = Array.from({ length: 20_000 }, (_, k) => k);
    expect(failure("-1 IN xs", { xs: big }).message).toBe("evaluation exceeded 10000 steps");
    expect(run("5 IN xs", { xs: big })).toBe(true);
    expect(failure("a == b", { a: big, b: [...big] }).message).toBe("evaluation exceeded 10000 steps");
    const deep = (k: number): unknown => {
      let v: unknown = [];
      for (let j = 0; j < k; j++) v = [v];
      return v;
    };
    expect(run("a == b", { a: deep(50), b: deep(50) })).toBe(true);
    expect(failure("a == b", { a: deep(50_000), b: deep(50_000) }).message).toBe(
      "cannot compare values nested more than 100 levels deep",
    );
    // Without list-valued parameters each node runs at most once, so even the longest
    // source stays well inside the budget.
    const expr = "x IN (" + "0,".repeat(2040) + "1)";
    expect(expr.length).toBeLessThanOrEqual(LIMITS.maxSourceLength);
    expect(run(expr, { x: 1 })).toBe(true);
  });

  it("is fast on the largest expressions it accepts", () => {
    const source = "(" + "x + ".repeat(250) + "1) > 0 ? bytes(s) : toSecond(d)";
    const c = compileExpression(source);
    const started = performance.now();
    for (let k = 0; k < 100; k++)
      c.evaluate(
        new Map([
          ["x", "1"],
          ["s", "1.5 GiB"],
          ["d", "1h"],
        ]),
      );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("no code execution", () => {
  it.each<[string, RegExp]>([
    [
      "constructor.constructor('return process')()",
      /^parameter "constructor\.constructor" cannot be called at 24$/,
    ],
    ["process.exit()", /^parameter "process\.exit" cannot be called at 13$/],
    ["process.exit(1)", /cannot be called/],
    ["this.constructor", /^unknown parameter "this" at 1$/],
    ["__proto__", /^unknown parameter "__proto__" at 1$/],
    ["eval('1+1')", /^unknown function "eval" at 1$/],
    ["Function('return 1')()", /^the result of Function\(\) cannot be called at 21$/],
    ["constructor('x')", /^unknown function "constructor" at 1$/],
    ["toString()", /^unknown function "toString" at 1$/],
    ["hasOwnProperty('a')", /^unknown function "hasOwnProperty" at 1$/],
    ["__proto__('a')", /^unknown function "__proto__" at 1$/],
    ["`${1}`", /^unexpected character backtick at 1$/],
    ["require('fs')", /^unknown function "require" at 1$/],
    ["import('fs')", /^unknown function "import" at 1$/],
    ["x; process.exit()", /^unexpected character ";" at 2$/],
    ["x = 1", /^unexpected character "=" at 3$/],
    ["new Date()", /^unexpected "Date" at 5$/],
    ["x[0]", /^unexpected "0" at 2$|^invalid parameter name/],
    ["a => a", /^unexpected character "=" at 3$/],
    ["int.call(1)", /cannot be called/],
    ["(() => 1)()", /^unexpected character "=" at 5$/],
  ])("%s is rejected at load time", (source, message) => {
    let error: unknown;
    try {
      compileExpression(source, { knownParams: new Set(["x", "a", "constructor", "process", "int"]) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as Error).message).toMatch(message);
  });

  it("never reads inherited properties or calls methods of bound values", () => {
    let touched = 0;
    const trap = {
      toString: () => `${++touched}`,
      valueOf: () => ++touched,
      toJSON: () => ++touched,
      [Symbol.toPrimitive]: () => ++touched,
    };
    for (const source of ["t + 1", "t + 'a'", "t < 1", "int(t)", "bytes(t)", "t =~ 'a'", "-t", "!t"]) {
      expect(() => run(source, { t: trap })).toThrow(ExpressionError);
    }
    expect(run("t == 1 || t == 't' || t IN ('1', 1)", { t: trap })).toBe(false);
    expect(run("t.toString", { t: trap })).toBe(trap.toString); // an own value, returned uncalled
    expect(run("t.hasOwnProperty ?? 'none'", { t: trap })).toBe("none");
    expect(touched).toBe(0);
  });

  it("leaves functions passed as values uncalled", () => {
    let called = false;
    const fn = (): number => {
      called = true;
      return 1;
    };
    expect(run("f", { f: fn })).toBe(fn);
    expect(() => run("f + 1", { f: fn })).toThrow("cannot add function and number 1 at 3");
    expect(() => run("f.name", { f: fn })).toThrow('cannot read field "name" of function at 1');
    expect(called).toBe(false);
  });

  it("does not pollute prototypes", () => {
    run("o.__proto__.polluted ?? 1", { o: {} });
    run("o.constructor.prototype ?? 1", { o: {} });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("throws only ExpressionError, whatever the bindings", () => {
    const nasty: unknown[] = [
      Object.create(null),
      new Proxy(
        {},
        {
          get: () => {
            throw new Error("trap");
          },
        },
      ),
      Symbol("s"),
      10n,
      new Map([["a", 1]]),
      new Date(0),
      /re/,
      NaN,
      -0,
    ];
    const sources = [
      "v + 1",
      "v == 1",
      "v < 1",
      "int(v)",
      "bytes(v)",
      "toSecond(v)",
      "unix(v)",
      "quantity(v)",
      "cpu_cores(v)",
      "percentage(v, 4)",
      "v.a",
      "v =~ 'a'",
      "v IN (1)",
      "v ?? 1",
      "!v",
      "-v",
    ];
    for (const v of nasty) {
      for (const source of sources) {
        try {
          run(source, { v });
        } catch (e) {
          expect(e).toBeInstanceOf(ExpressionError);
        }
      }
    }
  });
});
