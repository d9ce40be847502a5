import { describe, expect, it } from "@jest/globals";
import { Telemetry } from "../src/telemetry/metrics.js";

/** The value of one series in the registry's text, or undefined when it is absent. */
async function value(t: Telemetry, series: string): Promise<number | undefined> {
  const text = await t.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("watch event self-metrics counted in plain numbers", () => {
  it("add up across reads of the registry, per resource and type", async () => {
    const t = new Telemetry("test", { defaultMetrics: false });
    const added = 'crd_state_metrics_watch_events_total{resource="g/v1/things",type="ADDED"}';
    const modified = 'crd_state_metrics_watch_events_total{resource="g/v1/things",type="MODIFIED"}';
    const other = 'crd_state_metrics_watch_events_total{resource="g/v1/others",type="ADDED"}';
    expect(await value(t, added)).toBeUndefined();
    t.countWatchEvent("g/v1/things", "ADDED");
    t.countWatchEvent("g/v1/things", "ADDED");
    t.countWatchEvent("g/v1/things", "MODIFIED");
    expect(await value(t, added)).toBe(2);
    expect(await value(t, modified)).toBe(1);
    expect(await value(t, other)).toBeUndefined();
    // A counter: later events add to what earlier reads saw, and reading twice adds nothing.
    t.countWatchEvent("g/v1/things", "ADDED");
    t.countWatchEvent("g/v1/others", "ADDED");
    expect(await value(t, added)).toBe(3);
    expect(await value(t, added)).toBe(3);
    expect(await value(t, other)).toBe(1);
  });

  it("serve the time of the latest event per resource, and keep it between events", async () => {
    const t = new Telemetry("test", { defaultMetrics: false });
    const series = 'crd_state_metrics_last_event_timestamp_seconds{resource="g/v1/things"}';
    t.noteEventTime("g/v1/things", 100);
    t.noteEventTime("g/v1/things", 160.5);
    expect(await value(t, series)).toBe(160.5);
    expect(await value(t, series)).toBe(160.5);
    t.noteEventTime("g/v1/things", 170);
    expect(await value(t, series)).toBe(170);
  });
});
