import { afterEach, describe, expect, it } from "@jest/globals";
import type { ApiServer } from "../src/sim/index.js";
import { Recorder, startSim, widget, widgetCrd } from "./sim.helpers.js";

/** Watch delivery edge cases: nothing queued may wait for an unrelated later event. */
describe("sim watch delivery", () => {
  let sim: ApiServer | undefined;
  let rec: Recorder | undefined;
  afterEach(async () => {
    rec?.stop();
    await sim?.close();
  });

  it("delivers an event queued in the same tick as a filtered one", async () => {
    const started = await startSim({ objects: [widgetCrd] });
    sim = started.sim;
    sim.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
    sim.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } });
    rec = await Recorder.start(started.kc, "/apis/example.com/v1/namespaces/team-a/widgets", {
      resourceVersion: sim.resourceVersion,
    });
    // Give the watch time to attach before the writes.
    await new Promise((r) => setTimeout(r, 200));
    sim.create(widget("other", "team-b"));
    sim.create(widget("mine", "team-a"));
    await rec.until((r) => r.events.some((e) => e.type === "ADDED"), 3000);
    expect(
      rec.events.filter((e) => e.type !== "BOOKMARK").map((e) => [e.type, String(e.object.metadata.name)]),
    ).toEqual([["ADDED", "mine"]]);
  });

  it("sends the DELETED events of a removed CRD's objects before ending the watch", async () => {
    const started = await startSim({ objects: [widgetCrd, widget("w1"), widget("w2")] });
    sim = started.sim;
    rec = await Recorder.start(started.kc, "/apis/example.com/v1/widgets", {
      resourceVersion: sim.resourceVersion,
    });
    await new Promise((r) => setTimeout(r, 200));
    sim.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "widgets.example.com",
    });
    await rec.until((r) => r.ended !== undefined, 5000);
    const deleted = rec.events.filter((e) => e.type === "DELETED").map((e) => String(e.object.metadata.name));
    expect(deleted.sort()).toEqual(["w1", "w2"]);
  });
});
