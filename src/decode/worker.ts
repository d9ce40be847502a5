/**
 * Entry of a decode worker thread (started by DecodePool): parses and renders watch lines for
 * the plans it is given, answering every message in the order it came.
 */
import { Session } from "node:inspector/promises";
import { parentPort } from "node:worker_threads";
import { failedBatch, type FromWorker, type PackedBatch, type ToWorker } from "./protocol.js";
import { PlanRenderer } from "./render-lines.js";

const port = parentPort;
if (port === null) throw new Error("decode/worker.js runs as a worker thread (see DecodePool)");

let profiler: Session | undefined;

async function profile(start: boolean): Promise<unknown> {
  if (start) {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    return undefined;
  }
  if (!profiler) throw new Error("no profile was started");
  const { profile: result } = await profiler.post("Profiler.stop");
  profiler.disconnect();
  profiler = undefined;
  return result;
}

/** A plan this thread could not build: lines for it are refused with the reason. */
const plans = new Map<number, PlanRenderer | string>();

port.on("message", (message: ToWorker) => {
  switch (message.op) {
    case "plan": {
      let built: PlanRenderer | string;
      try {
        built = PlanRenderer.build(message.spec);
      } catch (err) {
        built = `compiling the plan failed here: ${err instanceof Error ? err.message : String(err)}`;
      }
      plans.set(message.id, built);
      const reply: FromWorker =
        typeof built === "string"
          ? { op: "plan", id: message.id, error: built }
          : { op: "plan", id: message.id };
      port.postMessage(reply);
      return;
    }
    case "release":
      plans.delete(message.id);
      return;
    case "profile":
      void profile(message.start).then(
        (result) => {
          port.postMessage({ op: "profile", profile: result } satisfies FromWorker);
        },
        (err: unknown) => {
          port.postMessage({
            op: "profile",
            error: err instanceof Error ? err.message : String(err),
          } satisfies FromWorker);
        },
      );
      return;
    case "lines": {
      const renderer = plans.get(message.plan);
      let batch: PackedBatch;
      if (renderer === undefined || typeof renderer === "string") {
        batch = failedBatch(`decode worker: ${renderer ?? "unknown plan"}`);
      } else {
        const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
        try {
          batch = renderer.decode(bytes, message.apiVersion, message.kind);
        } catch (err) {
          // What the exporter's thread does with a handler that throws: end the stream, which
          // is watched again from the last event applied.
          batch = failedBatch(
            `watch event handler failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      const reply: FromWorker = { op: "lines", stream: message.stream, seq: message.seq, batch };
      port.postMessage(reply, [batch.bytes.buffer as ArrayBuffer]);
      return;
    }
  }
});
