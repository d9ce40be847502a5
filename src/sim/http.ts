import type { IncomingMessage, ServerResponse } from "node:http";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { parse as parseYaml } from "yaml";
import { decodeProtobuf } from "./protobuf.js";
import { ApiError, errors } from "./status.js";
import type { JsonObject } from "./types.js";

/** kube-apiserver's default request body limit. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, "BadRequest", "the request body is too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Decode a request body by its media type: JSON, or YAML (JSON is YAML too). */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? "application/json").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/vnd.kubernetes.protobuf")
    return raw.length === 0 ? undefined : decodeProtobuf(raw);
  if (type.includes("protobuf") || type.includes("cbor")) throw errors.unsupportedMediaType(type);
  const text = raw.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    if (type.endsWith("yaml")) return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.badRequest(
      `the request body could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: JsonObject,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  res.end(text);
}

/** Objects per write when streaming a list; bounds the time spent in one tick. */
const STREAM_BATCH = 100;

/**
 * Write a list body item by item, yielding to the event loop between batches and waiting for
 * the socket to drain, so a page of thousands of objects never stalls other requests.
 */
export async function streamList(
  res: ServerResponse,
  head: JsonObject,
  items: readonly string[],
): Promise<void> {
  const prefix = JSON.stringify(head);
  const open = `${prefix.slice(0, -1)}${prefix.length > 2 ? "," : ""}"items":[`;
  if (items.length <= STREAM_BATCH) {
    const text = `${open}${items.join(",")}]}`;
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-cache, private",
    });
    res.end(text);
    return;
  }
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  res.write(open);
  for (let i = 0; i < items.length; i += STREAM_BATCH) {
    if (res.destroyed) return;
    const ok = res.write(`${i === 0 ? "" : ","}${items.slice(i, i + STREAM_BATCH).join(",")}`);
    await (ok ? yieldToLoop() : drained(res));
  }
  res.end("]}");
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = {};
  const retry = err.details?.retryAfterSeconds;
  if (retry !== undefined) headers["Retry-After"] = String(retry);
  sendJson(res, err.code, err.toStatus(), headers);
}
