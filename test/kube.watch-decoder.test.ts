import { afterEach, describe, expect, it } from "@jest/globals";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DecodedBatch, DecoderStream, KubeApiError, WatchDecoder } from "../src/kube/index.js";
import { createKubeApi, parseWatchLine } from "../src/kube/index.js";
import type { ResourceRef, WatchEvent } from "../src/kube/types.js";

/**
 * The client's side of a WatchDecoder: it hands over bytes cut at line ends, applies what comes
 * back in order, and a stream that ends cleanly is over only once its last lines were applied.
 * The decoder here answers a turn of the event loop later, as a thread would.
 */

const RESOURCE: ResourceRef = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

class SlowDecoder implements WatchDecoder {
  readonly pushes: string[] = [];
  open(apiVersion: string, kind: string, deliver: (batch: DecodedBatch) => void): DecoderStream {
    let pending: string[] = [];
    let inFlight = 0;
    let closed = false;
    const waiters: (() => void)[] = [];
    const settle = (): void => {
      if (inFlight === 0) for (const w of waiters.splice(0)) w();
    };
    return {
      push: (bytes) => {
        pending.push(bytes.toString("utf8"));
        if (pending.length === 1) {
          inFlight++;
          queueMicrotask(() => {
            const text = pending.join("");
            pending = [];
            this.pushes.push(text);
            setTimeout(() => {
              inFlight--;
              if (!closed) {
                const events: WatchEvent[] = [];
                let error: string | undefined;
                for (const line of text.split("\n")) {
                  if (line === "") continue;
                  const parsed = parseWatchLine(Buffer.from(line), apiVersion, kind);
                  if (parsed.error !== undefined) {
                    error = parsed.error;
                    break;
                  }
                  events.push(parsed.event);
                }
                deliver({ events, ...(error === undefined ? {} : { error }) });
              }
              settle();
            }, 20);
          });
        }
        return true;
      },
      room: () => Promise.resolve(),
      drained: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
      close: () => {
        closed = true;
      },
    };
  }
}

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

function widget(name: string, rv: string): string {
  return JSON.stringify({
    type: "MODIFIED",
    object: {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name, namespace: "ns", resourceVersion: rv },
    },
  });
}

/** A server whose watch writes `chunks` (with a pause between them), then ends. */
async function serve(chunks: string[]): Promise<string> {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    let i = 0;
    const next = (): void => {
      if (i < chunks.length) {
        res.write(chunks[i++]);
        setTimeout(next, 5);
      } else {
        res.end();
      }
    };
    next();
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${String((server!.address() as AddressInfo).port)}`;
}

function watch(
  url: string,
  decoder: WatchDecoder,
): Promise<{ events: WatchEvent[]; error: KubeApiError | undefined }> {
  const api = createKubeApi({ server: url });
  const events: WatchEvent[] = [];
  return new Promise((resolve) => {
    api.watch(
      RESOURCE,
      { resourceVersion: "1", timeoutSeconds: 30, decoder },
      {
        onEvent: (e) => events.push(e),
        onDone: (error) => {
          api.close();
          resolve({ events, error });
        },
      },
    );
  });
}

describe("watch with a decoder", () => {
  it("hands over whole lines, even split across chunks, and applies every event before a clean end", async () => {
    const a = widget("a", "2");
    const b = widget("b", "3");
    const c = widget("c", "4");
    const url = await serve([`${a}\n${b.slice(0, 20)}`, `${b.slice(20)}\n${c}`, "\n"]);
    const decoder = new SlowDecoder();
    const { events, error } = await watch(url, decoder);
    expect(error).toBeUndefined();
    // The last line arrived just before the end and was still being decoded when it came.
    expect(events.map((e) => e.object.metadata.name)).toEqual(["a", "b", "c"]);
    for (const text of decoder.pushes) expect(text.endsWith("\n")).toBe(true);
    expect(decoder.pushes.join("")).toBe(`${a}\n${b}\n${c}\n`);
  });

  it("ends the watch at a bad line, after the events before it", async () => {
    const url = await serve([`${widget("a", "2")}\n{oops\n${widget("c", "4")}\n`]);
    const { events, error } = await watch(url, new SlowDecoder());
    expect(events.map((e) => e.object.metadata.name)).toEqual(["a"]);
    expect(error?.message).toBe("watch stream carried invalid JSON");
  });

  it("turns an ERROR event into the error the stream ends with", async () => {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      code: 410,
      reason: "Expired",
      message: "too old",
    };
    const url = await serve([`${JSON.stringify({ type: "ERROR", object: status })}\n`]);
    const { events, error } = await watch(url, new SlowDecoder());
    expect(events).toEqual([]);
    expect(error?.isGone).toBe(true);
    expect(error?.message).toBe("too old");
  });
});
