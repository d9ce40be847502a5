import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

export type { Logger } from "pino";
export type LogFormat = "json" | "text";
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Human-readable lines for `--log-format text`: `time LEVEL message key=value ...`. pino keeps
 * producing JSON; this stream only re-renders it, so both formats carry the same fields.
 */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const { time, level, msg, pid: _pid, hostname: _host, ...rest } = rec;
          const fields = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
            .join(" ");
          const when = typeof time === "number" ? new Date(time).toISOString() : "";
          const lvl = typeof level === "string" ? level.toUpperCase().padEnd(5) : String(level);
          out.write(`${when} ${lvl} ${typeof msg === "string" ? msg : ""}${fields ? ` ${fields}` : ""}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

export function createLogger(
  options: { level?: LogLevel; format?: LogFormat; destination?: NodeJS.WritableStream } = {},
): Logger {
  const destination = options.destination ?? process.stderr;
  const base = {
    level: options.level ?? "info",
    base: { component: "crd-state-metrics" },
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: options.format === "text" ? pino.stdTimeFunctions.epochTime : pino.stdTimeFunctions.isoTime,
  };
  return options.format === "text" ? pino(base, textStream(destination)) : pino(base, destination);
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
