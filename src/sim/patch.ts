import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from "./types.js";

/** A patch that is well-formed but cannot be applied to this object (kube answers 422). */
export class PatchError extends Error {
  override name = "PatchError";
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Strategic merge patch without the Go struct tags that drive it: maps merge as in a merge
 * patch and lists are replaced. The directive keys kubectl writes are honoured where their
 * meaning does not depend on merge keys, and dropped otherwise, so they never leak into objects.
 */
export function strategicMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === "delete") return null;
  const base: JsonObject = directive === "replace" || !isObject(target) ? {} : { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys") continue;
    if (key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const current = base[field];
      if (Array.isArray(current) && Array.isArray(value))
        base[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (value === null) {
      Reflect.deleteProperty(base, key);
      continue;
    }
    const merged = strategicMergePatch(base[key], value);
    if (merged === null) Reflect.deleteProperty(base, key);
    else base[key] = merged;
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(base)) if (!retain.includes(key)) Reflect.deleteProperty(base, key);
  }
  return base;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: JsonValue;
}

export function parseJsonPatch(body: unknown): Operation[] {
  if (!Array.isArray(body)) throw new TypeError("a JSON patch must be an array of operations");
  return body.map((raw, i) => {
    if (!isObject(raw) || typeof raw.op !== "string" || typeof raw.path !== "string")
      throw new TypeError(`operation ${i} needs string "op" and "path"`);
    const op: Operation = { op: raw.op, path: raw.path };
    if (typeof raw.from === "string") op.from = raw.from;
    if (Object.hasOwn(raw, "value")) op.value = raw.value ?? null;
    return op;
  });
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

type Container = JsonObject | JsonValue[];

/** Walk to the parent of the pointer's last token; the document is copied along the way. */
function parentOf(root: JsonValue, tokens: string[]): { parent: Container; last: string } {
  let cur: JsonValue = root;
  for (const token of tokens.slice(0, -1)) {
    const next: JsonValue | undefined = Array.isArray(cur)
      ? cur[arrayIndex(cur, token, false)]
      : isObject(cur)
        ? cur[token]
        : undefined;
    if (next === undefined) throw new PatchError(`path not found: /${tokens.join("/")}`);
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path not found: /${tokens.join("/")}`);
  const last = tokens[tokens.length - 1];
  if (last === undefined) throw new PatchError("cannot address the document root here");
  return { parent: cur, last };
}

function arrayIndex(arr: JsonValue[], token: string, forInsert: boolean): number {
  if (forInsert && token === "-") return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length))
    throw new PatchError(`array index ${i} out of range`);
  return i;
}

function getAt(root: JsonValue, path: string): JsonValue {
  const tokens = pointer(path);
  if (tokens.length === 0) return root;
  const { parent, last } = parentOf(root, tokens);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, last, false)] : parent[last];
  if (v === undefined) throw new PatchError(`path not found: ${path}`);
  return v;
}

function removeAt(root: JsonValue, path: string): JsonValue {
  const { parent, last } = parentOf(root, pointer(path));
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(arrayIndex(parent, last, false), 1);
    return removed ?? null;
  }
  if (!Object.hasOwn(parent, last)) throw new PatchError(`path not found: ${path}`);
  const v = parent[last] ?? null;
  Reflect.deleteProperty(parent, last);
  return v;
}

function addAt(root: JsonValue, path: string, value: JsonValue, replace: boolean): JsonValue {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(root, tokens);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace);
    parent.splice(i, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, last)) throw new PatchError(`path not found: ${path}`);
    parent[last] = value;
  }
  return root;
}

/** RFC 6902 JSON patch; applied to a copy so a failing operation leaves the object untouched. */
export function jsonPatch(target: JsonValue, ops: Operation[]): JsonValue {
  let doc = clone(target);
  for (const op of ops) {
    switch (op.op) {
      case "add":
        doc = addAt(doc, op.path, clone(requireValue(op)), false);
        break;
      case "replace":
        doc = addAt(doc, op.path, clone(requireValue(op)), true);
        break;
      case "remove":
        removeAt(doc, op.path);
        break;
      case "move": {
        const from = requireFrom(op);
        const v = removeAt(doc, from);
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case "copy":
        doc = addAt(doc, op.path, clone(getAt(doc, requireFrom(op))), false);
        break;
      case "test":
        if (!deepEqual(getAt(doc, op.path), requireValue(op)))
          throw new PatchError(`test operation failed at ${op.path}`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return doc;
}

function requireValue(op: Operation): JsonValue {
  if (op.value === undefined) throw new PatchError(`operation "${op.op}" needs a value`);
  return op.value;
}

function requireFrom(op: Operation): string {
  if (op.from === undefined) throw new PatchError(`operation "${op.op}" needs "from"`);
  return op.from;
}
