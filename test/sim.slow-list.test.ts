import { describe, expect, it } from "@jest/globals";
import { startApiServer } from "../src/sim/index.js";

/**
 * Found by the soak: with a slow-list fault active, a write during the delay made the continue
 * token name a different resourceVersion than its snapshot, so every paginated list of a busy
 * resource ended in 410 and the reflector backed off for tens of seconds.
 */

describe("a slow paginated list while objects change", () => {
  it("keeps its continue token valid and stays consistent at the first page's resourceVersion", async () => {
    const sim = await startApiServer({ port: 0 });
    try {
      for (let i = 0; i < 10; i++) {
        sim.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}`, namespace: "a" } });
      }
      sim.faults.slowLists({ resource: "configmaps", delayMs: 200 });
      const first = fetch(`${sim.url}/api/v1/namespaces/a/configmaps?limit=4`);
      await new Promise((r) => setTimeout(r, 50));
      sim.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm-late", namespace: "a" } });
      const page1 = (await (await first).json()) as {
        metadata: { continue?: string; resourceVersion: string };
      };
      expect(page1.metadata.continue).toBeDefined();
      const res = await fetch(
        `${sim.url}/api/v1/namespaces/a/configmaps?limit=100&continue=${encodeURIComponent(page1.metadata.continue ?? "")}`,
      );
      expect(res.status).toBe(200);
      const page2 = (await res.json()) as {
        items: { metadata: { name: string } }[];
        metadata: { resourceVersion: string };
      };
      expect(page2.metadata.resourceVersion).toBe(page1.metadata.resourceVersion);
      expect(page2.items.map((o) => o.metadata.name)).not.toContain("cm-late");
      expect(page2.items).toHaveLength(6);
    } finally {
      await sim.close();
    }
  });
});
