import type { PrinterColumn, ResourceInfo } from "./registry.js";
import { isObject, metadataOf, type JsonObject, type JsonValue, type KubeObject } from "./types.js";

/** kubectl asked for server-side printing (`as=Table` in Accept). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept.split(",")[0] ?? "");
}

/**
 * The small JSONPath subset printer columns use: `.a.b`, `[n]`, `['key']`, and
 * `[?(@.field=="value")]`. Anything richer yields no cell rather than an error.
 */
export function columnValue(obj: JsonValue, path: string): JsonValue | undefined {
  const p = path.replace(/^\{|\}$/g, "").trim();
  const tokens: string[] = [];
  const re = /\.([^.[\]]+)|\[(-?\d+)\]|\['([^']*)'\]|\[\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)\]/g;
  let m: RegExpExecArray | null;
  let cur: JsonValue[] = [obj];
  let consumed = 0;
  while ((m = re.exec(p)) !== null) {
    if (m.index !== consumed) return undefined;
    consumed = re.lastIndex;
    tokens.push(m[0]);
    const next: JsonValue[] = [];
    for (const v of cur) {
      if (m[1] !== undefined || m[3] !== undefined) {
        const key = m[1] ?? m[3] ?? "";
        if (isObject(v) && v[key] !== undefined) next.push(v[key]);
      } else if (m[2] !== undefined) {
        if (Array.isArray(v)) {
          const i = Number(m[2]);
          const e = v[i < 0 ? v.length + i : i];
          if (e !== undefined) next.push(e);
        }
      } else if (m[4] !== undefined && Array.isArray(v)) {
        const field = m[4];
        const want = m[5];
        for (const e of v) {
          let f: JsonValue | undefined = e;
          for (const seg of field.split(".")) f = isObject(f) ? f[seg] : undefined;
          if (f === want) next.push(e);
        }
      }
    }
    cur = next;
  }
  if (consumed !== p.length) return undefined;
  return cur[0];
}

/** Same buckets as kube-apiserver's human-readable ages ("45s", "3m20s", "5h", "12d"). */
export function humanAge(fromIso: string, now: number = Date.now()): string {
  const t = Date.parse(fromIso);
  if (Number.isNaN(t)) return "<unknown>";
  const seconds = Math.floor((now - t) / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function cell(column: PrinterColumn, obj: KubeObject): JsonValue {
  const v = columnValue(obj, column.jsonPath);
  if (v === undefined || v === null) return null;
  if (column.type === "date" && typeof v === "string") return humanAge(v);
  if (typeof v === "object") return JSON.stringify(v);
  return v;
}

export function toTable(
  info: ResourceInfo,
  version: string,
  objects: KubeObject[],
  listMeta: JsonObject,
): JsonObject {
  const columns = info.printerColumns.get(version) ?? [];
  const columnDefinitions: JsonObject[] = [
    {
      name: "Name",
      type: "string",
      format: "name",
      description: "Name must be unique within a namespace.",
      priority: 0,
    },
    ...columns.map((c) => {
      const d: JsonObject = {
        name: c.name,
        type: c.type,
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority,
      };
      return d;
    }),
  ];
  const rows = objects.map((obj) => {
    const meta = metadataOf(obj);
    return {
      cells: [meta.name ?? null, ...columns.map((c) => cell(c, obj))],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: meta },
    };
  });
  return { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: listMeta, columnDefinitions, rows };
}
