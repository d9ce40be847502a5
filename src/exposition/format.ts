/**
 * The bytes of the Prometheus text format 0.0.4 and OpenMetrics 1.0 (SPEC §6). Gauge series lines
 * are identical in both, so series are rendered once, format-independently; only family headers
 * and the trailer differ.
 */

export type ExpositionFormat = "text" | "openmetrics";

export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  text: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

const LABEL_ESCAPE = /[\\"\n\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Label values escape backslash, double quote and newline, in both formats. A lone UTF-16
 * surrogate (which no UTF-8 text can hold) becomes U+FFFD here, before series are compared, so
 * that two values that would be written as the same bytes are also the same series.
 */
export function escapeLabelValue(value: string): string {
  if (!LABEL_ESCAPE.test(value)) return value;
  return value
    .replace(LONE_SURROGATE, "\ufffd")
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n");
}

/**
 * HELP text: the text format escapes backslash and newline only; OpenMetrics also escapes the
 * double quote (its HELP is an escaped-string).
 */
export function escapeHelp(help: string, format: ExpositionFormat): string {
  const s = help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return format === "openmetrics" ? s.replace(/"/g, '\\"') : s;
}

/** Integers without a decimal point, other numbers in shortest round-trip form, NaN, ±Inf. */
export function formatValue(value: number): string {
  // Most series are 0 or 1 (states, info metrics).
  if (value === 0) return "0";
  if (value === 1) return "1";
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  // String() is already shortest round-trip ("0.1", "1e+21", "1.5e-7"); -0 prints as "0".
  return String(value);
}

/** The `# HELP` / `# TYPE` block that opens a family. */
export function familyHeader(name: string, help: string, format: ExpositionFormat): string {
  const helpLine = help === "" ? "" : `# HELP ${name} ${escapeHelp(help, format)}\n`;
  return `${helpLine}# TYPE ${name} gauge\n`;
}

export const OPENMETRICS_EOF = "# EOF\n";

/** One series line; `labels` is the already-rendered `{...}` part (or ""). */
export function seriesLine(family: string, labels: string, value: number): string {
  return `${family}${labels} ${formatValue(value)}\n`;
}

/** Render ordered label pairs as `{k="v",...}` (empty string when there are none). */
export function renderLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return "";
  let out = "{";
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    if (i > 0) out += ",";
    out += `${k}="${escapeLabelValue(v)}"`;
  }
  return out + "}";
}
