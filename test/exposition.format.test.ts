import { describe, expect, it } from "@jest/globals";
import {
  escapeHelp,
  escapeLabelValue,
  familyHeader,
  formatValue,
  renderLabels,
} from "../src/exposition/format.js";
import { negotiateFormat } from "../src/exposition/negotiate.js";

describe("exposition format", () => {
  it.each([
    [1, "1"],
    [0, "0"],
    [-0, "0"],
    [-3, "-3"],
    [0.5, "0.5"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1702543201, "1702543201"],
    [12815695, "12815695"],
    [1e21, "1e+21"],
    [1.5e-7, "1.5e-7"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ])("formats %p as %s", (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it("escapes backslash, double quote and newline in label values", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue("plain")).toBe("plain");
  });

  it("escapes HELP per format: quotes only in OpenMetrics", () => {
    expect(escapeHelp('say "hi"\\\nbye', "text")).toBe('say "hi"\\\\\\nbye');
    expect(escapeHelp('say "hi"', "openmetrics")).toBe('say \\"hi\\"');
  });

  it("writes HELP then TYPE, and omits an empty HELP", () => {
    expect(familyHeader("x_y", "Help.", "text")).toBe("# HELP x_y Help.\n# TYPE x_y gauge\n");
    expect(familyHeader("x_y", "", "text")).toBe("# TYPE x_y gauge\n");
  });

  it("renders label pairs in the given order", () => {
    expect(
      renderLabels([
        ["b", "2"],
        ["a", 'q"'],
      ]),
    ).toBe('{b="2",a="q\\""}');
    expect(renderLabels([])).toBe("");
  });

  it.each([
    [undefined, "text"],
    ["", "text"],
    ["text/plain", "text"],
    ["*/*", "text"],
    ["application/openmetrics-text", "openmetrics"],
    [
      "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
      "openmetrics",
    ],
    ["text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5", "text"],
    ["application/openmetrics-text;q=0", "text"],
  ])("negotiates Accept %p → %s", (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
