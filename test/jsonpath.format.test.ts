import { describe, expect, it } from "@jest/globals";
import { formatResults } from "../src/jsonpath/index.js";
import { formatNumber, goJson } from "../src/jsonpath/format.js";

describe("formatResults", () => {
  it("prints scalars like kubectl and joins with one space", () => {
    expect(formatResults(["a", true, false, 3, 0.5])).toBe("a true false 3 0.5");
    expect(formatResults([""])).toBe("");
    expect(formatResults(["x y", "<&>"])).toBe("x y <&>");
  });

  it("skips null results and yields undefined when nothing is left", () => {
    expect(formatResults([])).toBeUndefined();
    expect(formatResults([null])).toBeUndefined();
    expect(formatResults([null, undefined])).toBeUndefined();
    expect(formatResults([1, null, 2])).toBe("1 2");
    expect(formatResults([[null]])).toBe("[null]");
  });

  it("prints maps and lists as Go encoding/json does", () => {
    expect(formatResults([{ b: 1, a: [1, "x", { d: null, c: false }] }])).toBe(
      '{"a":[1,"x",{"c":false,"d":null}],"b":1}',
    );
    expect(goJson({ s: "<a href='x'>&</a>\u2028\u2029" })).toBe(
      '{"s":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e\\u2028\\u2029"}',
    );
    expect(goJson('tab\t nl\n cr\r bs\b ff\f ctl\u0001 del\u007f quote" back\\')).toBe(
      '"tab\\t nl\\n cr\\r bs\\b ff\\f ctl\\u0001 del\u007f quote\\" back\\\\"',
    );
    expect(goJson("lone \ud800 pair \ud83d\ude00")).toBe('"lone \ufffd pair \ud83d\ude00"');
    expect(goJson({ "\ue000": 1, "\u{1f600}": 2, b: 3, B: 4 })).toBe(
      '{"B":4,"b":3,"\ue000":1,"\u{1f600}":2}',
    );
    expect(goJson([1e21, 1e-7, 0.000001, 2 ** 60, Number("12345678901234567890"), -0])).toBe(
      "[1e+21,1e-7,0.000001,1152921504606846976,12345678901234567000,0]",
    );
    expect(goJson({ a: undefined, f: () => 1, b: 1 })).toBe('{"b":1}');
  });

  it("prints numbers as kubectl's %v does", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [-0, "0"],
      [3, "3"],
      [-42, "-42"],
      [1000000, "1000000"],
      [2 ** 60, "1152921504606846976"],
      [0.5, "0.5"],
      [-2.25, "-2.25"],
      [123456.5, "123456.5"],
      [1234567.5, "1.2345675e+06"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [-3e-7, "-3e-07"],
      [1e21, "1e+21"],
      [1e20, "1e+20"],
      [Number("12345678901234567890"), "1.2345678901234567e+19"],
      [1.5e300, "1.5e+300"],
      [5e-324, "5e-324"],
      [Number.NaN, "NaN"],
      [Infinity, "+Inf"],
      [-Infinity, "-Inf"],
    ];
    for (const [n, text] of cases) expect([n, formatNumber(n)]).toEqual([n, text]);
  });
});
