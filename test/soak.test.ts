import { describe, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkExposition, runSoak } from "../src/soak/run.js";
import { ROOT } from "./support/live.js";

/**
 * One minute of `npm run soak` (docs/reliability.md): randomized API server faults, ~200
 * object updates/s and 10 concurrent scrapers against a child `serve`; checkpoints every 20 s
 * compare /metrics with the offline render, and resident memory may not grow by more than 10%
 * from the second checkpoint on (half a minute in, V8's old space is still growing to size).
 */

describe("soak", () => {
  it("the light exposition checker rejects what it must", () => {
    expect(checkExposition('# HELP a x\n# TYPE a gauge\na{b="1"} 1\n', "text")).toBe(1);
    expect(() => checkExposition('# HELP a x\n# TYPE a gauge\na{b="1"} 1\na{b="1"} 2\n', "text")).toThrow(
      /duplicate/,
    );
    expect(() => checkExposition("# HELP a x\n# TYPE a gauge\nb 1\n", "text")).toThrow(/inside family/);
    expect(() => checkExposition("# HELP a x\n# TYPE a gauge\na 1\n", "openmetrics")).toThrow(/# EOF/);
    expect(() => checkExposition('# HELP a x\n# TYPE a gauge\na{b="1} 1\n', "text")).toThrow(/not a sample/);
  });

  it(
    "one minute: every scrape parses, checkpoints converge within 5 s, memory holds",
    async () => {
      expect(existsSync(join(ROOT, "dist", "cli", "main.js"))).toBe(true); // npm test builds first
      const lines: string[] = [];
      const report = await runSoak({
        minutes: 1,
        objects: 2_000,
        updatesPerSecond: 200,
        scrapers: 10,
        intervalSeconds: 20,
        warmupCheckpoints: 2,
        convergeMs: 5_000,
        maxRssGrowth: 0.1,
        seed: 1,
        scrapeGapMs: 1_000,
        log: (line) => lines.push(line),
      });
      process.stderr.write(
        `soak: ${report.seconds} s, ${report.updates} updates, ${JSON.stringify(report.faults)}, ` +
          `${report.scrapes.total} scrapes, checkpoints ${JSON.stringify(report.checkpoints)}\n`,
      );
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checkpoints.length).toBeGreaterThanOrEqual(3);
      expect(report.scrapes.total).toBeGreaterThan(100);
      expect(report.updates).toBeGreaterThan(5_000);
      expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    },
    5 * 60_000,
  );
});
