import { describe, expect, it } from "@jest/globals";
import { ABSENT, compileExpression, ExpressionError } from "../src/expression/index.js";
import { errorOf, run } from "./expression.helpers.js";

describe("literals", () => {
  it.each<[string, unknown]>([
    ["42", 42],
    ["4.5", 4.5],
    [".5", 0.5],
    ["1e3", 1000],
    ["1.5E-2", 0.015],
    ["'single'", "single"],
    ['"double"', "double"],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'a\\nb\\tc'", "a\nb\tc"],
    ["'back\\\\slash'", "back\\slash"],
    ["'\\u00e9'", "é"],
    ["'\\d+'", "\\d+"],
    ["'µs'", "µs"],
    ["''", ""],
    ["true", true],
    ["false", false],
    ["  ( 7 )  ", 7],
  ])("%s → %j", (source, value) => {
    expect(run(source)).toEqual(value);
  });
});

describe("operators", () => {
  it.each<[string, unknown]>([
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["10 - 4 - 3", 3],
    ["100 / 10 / 5", 2],
    ["7 % 4", 3],
    ["-7 % 4", -3],
    ["2 ** 10", 1024],
    ["2 ** 3 ** 2", 64], // left-associative, as govaluate
    ["-2 ** 2", 4], // prefix binds tighter than **, as govaluate
    ["2 * 3 ** 2", 18],
    ["2 ** -1", 0.5],
    ["- -3", 3],
    ["!true", false],
    ["!!true", true],
    ["1 / 0", Infinity],
    ["-1 / 0", -Infinity],
    ["1 < 2", true],
    ["2 <= 2", true],
    ["3 > 2", true],
    ["2 >= 3", false],
    ["1 + 1 == 2", true],
    ["1 < 2 == true", true],
    ["true && false", false],
    ["true || false", true],
    ["false || true && false", false], // && binds tighter than ||
    ["true ? 1 : 2", 1],
    ["false ? 1 : 2", 2],
    ["false ? 1 : true ? 2 : 3", 2], // right-associative
    ["1 > 2 ? 'a' : 'b'", "b"],
    ["true ? false ? 1 : 2 : 3", 2],
    ["'a' + 'b'", "ab"],
    ["2 IN (1, 2, 3)", true],
    ["4 IN (1, 2, 3)", false],
    ["4 in (4)", true],
    ["1 IN ()", false],
    ["1 + 1 IN (2)", true],
    ["'x' IN ('a', 'x') && true", true],
  ])("%s → %j", (source, value) => {
    expect(run(source)).toEqual(value);
  });

  it("?? takes the right side only for ABSENT or null", () => {
    expect(run("x ?? 5", { x: ABSENT })).toBe(5);
    expect(run("x ?? 5", { x: null })).toBe(5);
    expect(run("x ?? 5", { x: "" })).toBe("");
    expect(run("x ?? 5", { x: "3" })).toBe("3");
    expect(run("x ?? y ?? 7", { x: ABSENT, y: ABSENT })).toBe(7);
    expect(run("x ?? 1 + 1", { x: ABSENT })).toBe(2);
    // ?? binds looser than || but tighter than ? :
    expect(run("x ?? false || true", { x: ABSENT })).toBe(true);
    expect(run("x ?? true ? 1 : 2", { x: ABSENT })).toBe(1);
  });

  it("IN accepts a list-valued parameter", () => {
    expect(run("'b' IN xs", { xs: ["a", "b"] })).toBe(true);
    expect(run("'c' IN xs", { xs: ["a", "b"] })).toBe(false);
    expect(errorOf("'c' IN xs", { xs: "abc" }).message).toBe('IN expects a list, got string "abc" at 5');
  });
});

describe("coercions", () => {
  it.each<[string, Record<string, unknown>, unknown]>([
    // Arithmetic and ordering read numeric strings as numbers.
    ["'3' + 1", {}, 4],
    ["'3' + '4'", {}, 7],
    ["n * 2", { n: "2.5" }, 5],
    ["n - 1", { n: "1e3" }, 999],
    ["-n", { n: "4" }, -4],
    ["n > 9", { n: "10" }, true],
    ["n < m", { n: "9", m: "10" }, true],
    // + concatenates as soon as one side is a non-numeric string.
    ["'v' + 1", {}, "v1"],
    ["1 + 'v'", {}, "1v"],
    ["'a' + true", {}, "atrue"],
    ["'' + 3", {}, "3"],
    ["'3' + ' '", {}, "3 "],
    // Two non-numeric strings order lexicographically.
    ["'abc' < 'abd'", {}, true],
    ["'b' > 'a'", {}, true],
    ["'10' < '9'", {}, false], // both numeric: numeric order
    // Equality: number vs numeric string by value; string vs string exactly.
    ["3 == '3'", {}, true],
    ["'3.0' == 3", {}, true],
    ["'3' == '3.0'", {}, false],
    ["3 == 'three'", {}, false],
    ["n == 2", { n: "2" }, true],
    ["b == true", { b: "true" }, true],
    ["b == false", { b: "true" }, false],
    ["true == 1", {}, false],
    ["'' == 0", {}, false],
    // Boolean context accepts "true"/"false" (parameters arrive as strings).
    ["b && true", { b: "true" }, true],
    ["!b", { b: "false" }, true],
    ["b ? 1 : 2", { b: "false" }, 2],
    // Structures compare deeply.
    ["a == b", { a: { x: [1, "y"] }, b: { x: [1, "y"] } }, true],
    ["a == b", { a: { x: [1, "y"] }, b: { x: [1, "z"] } }, false],
    ["a == b", { a: [1, 2], b: [1, 2, 3] }, false],
    ["a == b", { a: { x: 1 }, b: { y: 1 } }, false],
  ])("%s with %j → %j", (source, params, value) => {
    expect(run(source, params)).toEqual(value);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["1 + true", {}, "cannot add number 1 and boolean true at 3"],
    ["'a' - 1", {}, '"-" expects numbers, got string "a" at 5'],
    ["2 * 'x'", {}, '"*" expects numbers, got string "x" at 3'],
    ["-'a'", {}, '"-" expects a number, got string "a" at 1'],
    ["!1", {}, '"!" expects a boolean, got number 1 at 2'],
    ["1 && true", {}, '"&&" expects a boolean, got number 1 at 1'],
    ["'yes' || true", {}, '"||" expects a boolean, got string "yes" at 1'],
    ["1 ? 2 : 3", {}, '"? :" expects a boolean, got number 1 at 1'],
    ["1 < 'a'", {}, '"<" cannot compare number 1 with string "a" at 3'],
    ["true < false", {}, '"<" cannot compare boolean true with boolean false at 6'],
    ["m + 1", { m: { a: 1 } }, "cannot add map and number 1 at 3"],
  ])("%s fails: %s", (source, params, message) => {
    expect(errorOf(source, params).message).toBe(message);
  });
});

describe("ABSENT", () => {
  it.each<[string, boolean]>([
    ["x == ''", true],
    ["x == 'nil'", true],
    ["x == y", true],
    ["x != ''", false],
    ["x != 'nil'", false],
    ["'' == x", true],
    ["x == 'Running'", false],
    ["x == 0", false],
    ["x == false", false],
    ["x != 'Running'", true],
    ["x IN ('', 'a')", true],
    ["x IN ('a', 'b')", false],
  ])("%s → %j", (source, value) => {
    expect(run(source, { x: ABSENT, y: ABSENT })).toBe(value);
  });

  it("null parameters behave like ABSENT", () => {
    expect(run("x == ''", { x: null })).toBe(true);
    expect(run("x == y", { x: null, y: ABSENT })).toBe(true);
  });

  it("an undefined binding is ABSENT, a missing binding is an error", () => {
    expect(run("x == ''", { x: undefined })).toBe(true);
    expect(errorOf("x == ''").message).toBe('unknown parameter "x" at 1');
  });

  it.each<[string, string]>([
    ["x + 1", "cannot add absent value and number 1 at 3"],
    ["x * 1", '"*" expects numbers, got absent value at 3'],
    ["x > 1", '">" cannot compare absent value with number 1 at 3'],
    ["!x", '"!" expects a boolean, got absent value at 2'],
    ["x && true", '"&&" expects a boolean, got absent value at 1'],
    ["x =~ 'a'", "=~ expects a string, got absent value at 3"],
    ["int(x)", 'int(): argument 1 (parameter "x") has no value at 5'],
    ["bytes(x)", 'bytes(): argument 1 (parameter "x") has no value at 7'],
    ["bytes(x ?? y)", "bytes(): argument 1 has no value at 9"],
  ])("%s fails: %s", (source, message) => {
    expect(errorOf(source, { x: ABSENT, y: ABSENT }).message).toBe(message);
  });

  it("is returned as is when it is the result", () => {
    expect(run("x", { x: ABSENT })).toBe(ABSENT);
    expect(run("true ? x : 1", { x: ABSENT })).toBe(ABSENT);
  });
});

describe("short-circuit", () => {
  it("does not evaluate the right side of && and || when the left decides", () => {
    expect(run("x != '' && int(x) > 0", { x: ABSENT })).toBe(false);
    expect(run("x != '' && int(x) > 0", { x: "3" })).toBe(true);
    expect(run("x == '' || bytes(x) > 0", { x: ABSENT })).toBe(true);
    expect(run("false && 1", {})).toBe(false);
    expect(run("true || 'not a boolean'", {})).toBe(true);
  });

  it("evaluates only the taken branch of ? : and the left of ?? when present", () => {
    expect(run("x == '' ? 0 : toSecond(x)", { x: ABSENT })).toBe(0);
    expect(run("x == '' ? 0 : toSecond(x)", { x: "2m" })).toBe(120);
    expect(run("x ?? bytes('garbage')", { x: 1 })).toBe(1);
  });

  it("stops an IN list at the first match", () => {
    expect(run("1 IN (1, int('nope'))")).toBe(true);
  });
});

describe("parameters", () => {
  it("reads fields of bound maps, own data properties only", () => {
    const obj = { spec: { replicas: 3, name: "x" } };
    expect(run("o.spec.replicas + 1", { o: obj })).toBe(4);
    expect(run("o.spec.missing ?? 'none'", { o: obj })).toBe("none");
    expect(run("o.nope.deeper ?? 'none'", { o: obj })).toBe("none");
    expect(run("o.constructor ?? 'none'", { o: obj })).toBe("none");
    expect(run("o.toString ?? 'none'", { o: obj })).toBe("none");
    expect(run("o.__proto__ ?? 'none'", { o: obj })).toBe("none");
    const withGetter = Object.defineProperty({}, "g", { get: () => "ran", enumerable: true });
    expect(run("o.g ?? 'none'", { o: withGetter })).toBe("none");
    expect(errorOf("o.spec.name.length", { o: obj }).message).toBe(
      'cannot read field "length" of string "x" at 1',
    );
    expect(errorOf("o.length", { o: [1, 2] }).message).toBe('cannot read field "length" of list at 1');
    class Box {
      v = 1;
    }
    expect(errorOf("o.v", { o: new Box() }).message).toBe('cannot read field "v" of unsupported object at 1');
  });

  it("supports govaluate's [escaped] names", () => {
    expect(run("[my-param] + 1", { "my-param": 1 })).toBe(2);
    expect(run("[a.b] == 'x'", { "a.b": "x" })).toBe(true);
    expect(run("[true]", { true: "param" })).toBe("param");
    expect(run("[int]", { int: 4 })).toBe(4);
  });

  it("reports the parameters read", () => {
    const c = compileExpression("a + b.c > 0 && a IN (d, 1) ? [e-f] : a");
    expect([...c.params].sort()).toEqual(["a", "b", "d", "e-f"]);
  });
});

describe("static checks", () => {
  const known = new Set(["phase", "size", "duration"]);
  it.each<[string, string, number]>([
    ["byts(size)", 'unknown function "byts" (did you mean "bytes"?) at 1', 1],
    ["frobnicate(size)", 'unknown function "frobnicate" at 1', 1],
    ["bytes(size, 1)", "bytes() expects 1 argument, got 2 at 1", 1],
    ["bytes()", "bytes() expects 1 argument, got 0 at 1", 1],
    ["1 + percentage(1)", "percentage() expects 2 to 3 arguments, got 1 at 5", 5],
    ["percentage(1, 2, true, 4)", "percentage() expects 2 to 3 arguments, got 4 at 1", 1],
    ["int(phse == 'x')", 'unknown parameter "phse" (did you mean "phase"?) at 5', 5],
    ["replicas > 1", 'unknown parameter "replicas" at 1', 1],
    ["", "empty expression", 1],
    ["   ", "empty expression", 1],
    ["1 +", "unexpected end of expression at 4", 4],
    ["(1", 'expected ")" but found end of expression at 3', 3],
    ["1)", 'unexpected ")" at 2', 2],
    ["1 2", "unexpected number 2 at 3", 3],
    ["a b", 'unexpected "b" at 3', 3],
    ["int(1,)", 'unexpected ")" at 7', 7],
    ["'open", "unterminated string starting at 1", 1],
    ["1 = 2", 'unexpected character "=" at 3', 3],
    ["1 & 2", 'unexpected character "&" at 3', 3],
    ["a.", 'expected a field name after "." but found end of expression at 3', 3],
    ["true ? 1", 'expected ":" of the conditional but found end of expression at 9', 9],
    ["x IN (1, 2", 'expected ")" closing the IN list but found end of expression at 11', 11],
    ["IN", 'unexpected "IN" at 1', 1],
    ["12abc", 'malformed number "12a…" at 1', 1],
    ["1e999", "number 1e999 is out of range at 1", 1],
    ["'a' =~ 1", "the pattern of =~ must be a string at 8", 8],
    ["[unclosed", "unterminated [parameter] starting at 1", 1],
    ["[has space]", "invalid parameter name [has space] at 1", 1],
    ["(1)(2)", "a parenthesised expression cannot be called at 4", 4],
    ["int(1)(2)", "the result of int() cannot be called at 7", 7],
    ["true.x", "true cannot have fields at 5", 5],
  ])("%s → %s", (source, message, position) => {
    let error: unknown;
    try {
      compileExpression(source, { knownParams: known });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).message).toBe(message);
    expect((error as ExpressionError).position).toBe(position);
  });

  it("accepts every known parameter and any parameter without knownParams", () => {
    expect(() => compileExpression("int(phase == 'x') + bytes(size)", { knownParams: known })).not.toThrow();
    expect(() => compileExpression("anything + goes")).not.toThrow();
  });
});
