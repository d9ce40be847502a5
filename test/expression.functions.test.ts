import { describe, expect, it } from "@jest/globals";
import { ABSENT } from "../src/expression/index.js";
import { errorOf, run } from "./expression.helpers.js";

// Each function is called as f(v) with the parameter v bound to the table's input, so that
// inputs of every type (not only literals) reach it.
const call = (fn: string, v: unknown): unknown => run(`${fn}(v)`, { v });
const failure = (fn: string, v: unknown): string => errorOf(`${fn}(v)`, { v }).message;

const WRONG_TYPES: [string, unknown][] = [
  ["ABSENT", ABSENT],
  ["null", null],
  ["a map", { a: 1 }],
  ["a list", [1]],
];

describe("int()", () => {
  it.each<[unknown, number]>([
    [true, 1],
    [false, 0],
    ["true", 1],
    ["false", 0],
    [3, 3],
    [3.9, 3],
    [-3.9, -3],
    [-0.5, 0],
    ["42", 42],
    ["4.7", 4],
    ["-4.7", -4],
    ["1e3", 1000],
    [1e20, 1e20],
  ])("int(%j) → %d", (v, n) => {
    expect(call("int", v)).toBe(n);
    expect(Object.is(call("int", v), -0)).toBe(false);
  });

  it.each<[unknown, string]>([
    ["", 'string ""'],
    ["abc", 'string "abc"'],
    [" 3", 'string " 3"'],
    ["NaN", 'string "NaN"'],
    ["Infinity", 'string "Infinity"'],
    ["True", 'string "True"'],
    [NaN, "number NaN"],
    [Infinity, "number Infinity"],
    [{ a: 1 }, "map"],
    [[1], "list"],
  ])("int(%j) fails", (v, shown) => {
    expect(failure("int", v)).toBe(
      `int() expects a boolean, a number or a numeric string, got ${shown} at 5`,
    );
  });

  it("works on comparisons, as upstream uses it", () => {
    expect(run("int(phase == 'Running')", { phase: "Running" })).toBe(1);
    expect(run("int(phase == 'Running')", { phase: "Failed" })).toBe(0);
    expect(run("int(phase == 'Running')", { phase: ABSENT })).toBe(0);
  });
});

describe("bytes()", () => {
  it.each<[unknown, number]>([
    ["12.222 MiB", 12815695],
    ["806 B", 806],
    ["7.003 KiB", 7171],
    ["1.500 GiB", 1610612736],
    ["1 ki", 1024],
    ["1.1 KiB", 1126],
    ["0.3 MB", 300000],
    ["2048", 2048],
    [2048, 2048],
    [0, 0],
    ["999 EiB", 999 * 1024 ** 6],
  ])("bytes(%j) → %d", (v, n) => {
    expect(call("bytes", v)).toBe(n);
  });

  it.each<[unknown, string]>([
    ["", 'bytes(): string "" is not a byte size at 7'],
    ["   ", 'bytes(): string "   " is not a byte size at 7'],
    ["garbage", 'bytes(): string "garbage" is not a byte size at 7'],
    ["12 parsecs", 'bytes(): string "12 parsecs" is not a byte size at 7'],
    ["-1 B", 'bytes(): string "-1 B" is not a byte size at 7'],
    ["NaN", 'bytes(): string "NaN" is not a byte size at 7'],
    ["Infinity", 'bytes(): string "Infinity" is not a byte size at 7'],
    [true, "bytes() expects a string, got boolean true at 7"],
    [NaN, "bytes() expects a finite number, got number NaN at 7"],
    [Infinity, "bytes() expects a finite number, got number Infinity at 7"],
  ])("bytes(%j) fails", (v, message) => {
    expect(failure("bytes", v)).toBe(message);
  });
});

describe("toSecond()", () => {
  it.each<[unknown, number]>([
    ["1m30.5s", 90.5],
    ["10.089085545s", 10.089085545],
    ["-1.5h", -5400],
    ["32s", 32],
    ["0", 0],
    ["250ms", 0.25],
    ["1h0m0s", 3600],
    [12, 12],
  ])("toSecond(%j) → %d", (v, n) => {
    expect(call("toSecond", v)).toBe(n);
  });

  it.each<[unknown, string]>([
    ["", 'string ""'],
    ["32", 'string "32"'],
    ["1 s", 'string "1 s"'],
    ["1d", 'string "1d"'],
    ["NaN", 'string "NaN"'],
  ])("toSecond(%j) fails", (v, shown) => {
    expect(failure("toSecond", v)).toBe(`toSecond(): ${shown} is not a Go duration at 10`);
  });

  it("rejects non-strings", () => {
    expect(failure("toSecond", false)).toBe("toSecond() expects a string, got boolean false at 10");
  });
});

describe("unix()", () => {
  it.each<[unknown, number]>([
    ["2023-12-14T08:40:01Z", 1702543201],
    ["2023-12-14T08:40:01.25Z", 1702543201.25],
    ["2023-12-14T09:40:01+01:00", 1702543201],
    [1702543201, 1702543201],
  ])("unix(%j) → %d", (v, n) => {
    expect(call("unix", v)).toBe(n);
  });

  it.each<[unknown, string]>([
    ["", 'unix(): string "" is not an RFC 3339 date-time at 6'],
    ["2023-12-14", 'unix(): string "2023-12-14" is not an RFC 3339 date-time at 6'],
    ["2023-02-30T00:00:00Z", 'unix(): string "2023-02-30T00:00:00Z" is not an RFC 3339 date-time at 6'],
    [true, "unix() expects an RFC 3339 string, got boolean true at 6"],
  ])("unix(%j) fails", (v, message) => {
    expect(failure("unix", v)).toBe(message);
  });
});

describe("cpu_cores() and quantity()", () => {
  it.each<[unknown, number]>([
    ["150m", 0.15],
    ["2", 2],
    ["1.5", 1.5],
    ["100u", 0.0001],
    ["250n", 2.5e-7],
    ["1k", 1000],
    [4, 4],
  ])("cpu_cores(%j) → %d", (v, n) => {
    expect(call("cpu_cores", v)).toBe(n);
  });

  it.each<[unknown, number]>([
    ["5Gi", 5368709120],
    ["500m", 0.5],
    ["1e3", 1000],
    ["1E3", 1000],
    ["128974848", 128974848],
    ["129e6", 129e6],
    ["123Mi", 128974848],
    ["-1Ki", -1024],
    [7, 7],
  ])("quantity(%j) → %d", (v, n) => {
    expect(call("quantity", v)).toBe(n);
  });

  it.each<[string, unknown, string]>([
    ["cpu_cores", "", 'cpu_cores(): string "" is not a CPU quantity at 11'],
    ["cpu_cores", "1 core", 'cpu_cores(): string "1 core" is not a CPU quantity at 11'],
    ["quantity", "5 Gi", 'quantity(): string "5 Gi" is not a Kubernetes quantity at 10'],
    ["quantity", "5gi", 'quantity(): string "5gi" is not a Kubernetes quantity at 10'],
    ["quantity", "1e400", 'quantity(): string "1e400" is not a Kubernetes quantity at 10'],
    ["quantity", "NaN", 'quantity(): string "NaN" is not a Kubernetes quantity at 10'],
    ["quantity", true, "quantity() expects a string, got boolean true at 10"],
  ])("%s(%j) fails", (fn, v, message) => {
    expect(failure(fn, v)).toBe(message);
  });
});

describe("percentage()", () => {
  it.each<[string, unknown]>([
    ["percentage('25%', 4)", 1],
    ["percentage('25%', 1, true)", 1],
    ["percentage('25%', 1)", 0],
    ["percentage('25%', 1, false)", 0],
    ["percentage(2, 4)", 2],
    ["percentage('2', 4)", 2],
    ["percentage(2.5, 4)", 2.5],
    ["percentage('50%', 5)", 2],
    ["percentage('50%', 5, true)", 3],
    ["percentage('50%', '5', 'true')", 3],
    ["percentage('100%', 7)", 7],
    ["percentage('0%', 7, true)", 0],
    ["percentage('12.5%', 8)", 1],
    ["percentage('33%', 100)", 33],
    ["percentage('-50%', 3)", -2],
    ["percentage('-50%', 3, true)", -1],
  ])("%s → %j", (source, value) => {
    expect(run(source)).toBe(value);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["percentage('25', x)", { x: "four" }, 'percentage() expects a number as total, got string "four" at 18'],
    ["percentage('25%', 4, 'yes')", {}, 'percentage() expects a boolean as roundUp, got string "yes" at 22'],
    ["percentage('abc', 4)", {}, 'percentage() expects "N%" or a number, got string "abc" at 12'],
    ["percentage('%', 4)", {}, 'percentage() expects "N%" or a number, got string "%" at 12'],
    ["percentage('25 %', 4)", {}, 'percentage() expects "N%" or a number, got string "25 %" at 12'],
    ["percentage(true, 4)", {}, 'percentage() expects "N%" or a number, got boolean true at 12'],
    ["percentage(p, 4)", { p: ABSENT }, 'percentage(): argument 1 (parameter "p") has no value at 12'],
    ["percentage('5%', t)", { t: ABSENT }, 'percentage(): argument 2 (parameter "t") has no value at 18'],
  ])("%s fails", (source, params, message) => {
    expect(errorOf(source, params).message).toBe(message);
  });
});

describe("every function rejects values of the wrong kind", () => {
  const fns = ["int", "bytes", "toSecond", "unix", "cpu_cores", "quantity"];
  it.each(fns.flatMap((fn) => WRONG_TYPES.map(([name, v]) => [fn, name, v] as const)))(
    "%s(%s)",
    (fn, _name, v) => {
      expect(() => call(fn, v)).toThrow(new RegExp(`^${fn}\\(`));
    },
  );
});
