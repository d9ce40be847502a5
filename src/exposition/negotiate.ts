import type { ExpositionFormat } from "./format.js";

interface MediaRange {
  type: string;
  q: number;
  order: number;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(",")
    .map((part, order) => {
      const [type = "", ...params] = part.trim().split(";");
      let q = 1;
      for (const p of params) {
        const [k, v] = p.trim().split("=");
        if (k?.trim().toLowerCase() === "q" && v !== undefined) {
          const n = Number(v.trim());
          q = Number.isFinite(n) ? n : 0;
        }
      }
      return { type: type.trim().toLowerCase(), q, order };
    })
    .filter((r) => r.type !== "");
}

/**
 * OpenMetrics only when the client prefers it over the text format (Prometheus sends
 * `application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,...` when
 * OpenMetrics is enabled); everything else, including no header, gets text 0.0.4.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return "text";
  const ranges = parseAccept(accept);
  const om = ranges.find((r) => r.type === "application/openmetrics-text");
  if (!om || om.q <= 0) return "text";
  const text = ranges.filter((r) => r.type === "text/plain" || r.type === "text/*" || r.type === "*/*");
  const best = text.reduce<MediaRange | undefined>((a, b) => (!a || b.q > a.q ? b : a), undefined);
  if (!best || om.q > best.q || (om.q === best.q && om.order < best.order)) return "openmetrics";
  return "text";
}
