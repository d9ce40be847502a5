/**
 * One line of a watch stream → one event. Pure, so the same decoding runs inline in the client
 * and in the decode worker threads (src/decode/), and both report a bad line the same way.
 */
import { stripMembers, UNREAD_METADATA, WATCH_OBJECT_METADATA } from "./strip.js";
import { isRecord, toKubeObject, type KubeObject, type WatchEvent, type WatchEventType } from "./types.js";

/** `error` ends the stream (the reflector watches again from the last applied event). */
export type ParsedWatchLine = { event: WatchEvent; error?: undefined } | { error: string; event?: undefined };

/**
 * ERROR events come back as they are (their object is the Status the server sent): turning one
 * into a KubeApiError is the caller's business. `apiVersion`/`kind` fill what built-in watch
 * streams omit.
 */
export function parseWatchLine(line: Buffer, apiVersion: string, kind: string): ParsedWatchLine {
  let parsed: unknown;
  try {
    // managedFields never outlive toKubeObject: not parsing them at all is cheaper.
    parsed = JSON.parse(stripMembers(line, WATCH_OBJECT_METADATA, UNREAD_METADATA));
  } catch {
    return { error: "watch stream carried invalid JSON" };
  }
  if (!isRecord(parsed) || typeof parsed.type !== "string") {
    return { error: "watch stream carried a line that is not a watch event" };
  }
  const type = parsed.type as WatchEventType;
  if (type === "ERROR") return { event: { type, object: parsed.object as KubeObject } };
  const object = toKubeObject(parsed.object);
  if (object === undefined) {
    // Bookmarks carry only metadata.resourceVersion and no name.
    const rawObject = parsed.object;
    if (type === "BOOKMARK" && isRecord(rawObject) && isRecord(rawObject.metadata)) {
      return { event: { type, object: rawObject as unknown as KubeObject } };
    }
    return { error: `watch ${type} event without an object` };
  }
  object.apiVersion ??= apiVersion;
  object.kind ??= kind;
  return { event: { type, object } };
}
