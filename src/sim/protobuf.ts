import { errors } from "./status.js";
import type { JsonObject } from "./types.js";

/**
 * kubectl's typed commands (`create namespace`, `create configmap`, `create secret`) send
 * built-ins as Kubernetes protobuf. This decodes just those kinds, and of their ObjectMeta only
 * what a client may set on create; replies are JSON, which the same clients also accept.
 */

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

interface Field {
  no: number;
  wire: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new RangeError("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, varint: varint() };
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new RangeError("truncated field");
      yield { no, wire, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array()).toString("utf8");

function mapEntry(buf: Uint8Array, asBase64: boolean): [string, string] {
  let key = "";
  let value = "";
  for (const f of fields(buf)) {
    if (f.no === 1) key = text(f.bytes);
    if (f.no === 2)
      value = asBase64 ? Buffer.from(f.bytes ?? new Uint8Array()).toString("base64") : text(f.bytes);
  }
  return [key, value];
}

function addEntry(target: JsonObject, key: string, entry: [string, string]): void {
  const map = (target[key] ?? {}) as JsonObject;
  map[entry[0]] = entry[1];
  target[key] = map;
}

function objectMeta(buf: Uint8Array): JsonObject {
  const meta: JsonObject = {};
  const finalizers: string[] = [];
  for (const f of fields(buf)) {
    switch (f.no) {
      // gogo-protobuf writes empty strings too; an empty field is an unset one.
      case 1:
        if (f.bytes?.length) meta.name = text(f.bytes);
        break;
      case 2:
        if (f.bytes?.length) meta.generateName = text(f.bytes);
        break;
      case 3:
        if (f.bytes?.length) meta.namespace = text(f.bytes);
        break;
      case 11:
        addEntry(meta, "labels", mapEntry(f.bytes ?? new Uint8Array(), false));
        break;
      case 12:
        addEntry(meta, "annotations", mapEntry(f.bytes ?? new Uint8Array(), false));
        break;
      case 14:
        finalizers.push(text(f.bytes));
        break;
    }
  }
  if (finalizers.length > 0) meta.finalizers = finalizers;
  return meta;
}

function decodeKind(kind: string, raw: Uint8Array): JsonObject {
  const obj: JsonObject = { apiVersion: "v1", kind };
  for (const f of fields(raw)) {
    if (f.no === 1 && f.bytes) {
      obj.metadata = objectMeta(f.bytes);
      continue;
    }
    if (kind === "ConfigMap") {
      if (f.no === 2 && f.bytes) addEntry(obj, "data", mapEntry(f.bytes, false));
      if (f.no === 3 && f.bytes) addEntry(obj, "binaryData", mapEntry(f.bytes, true));
      if (f.no === 4) obj.immutable = f.varint === 1n;
    } else if (kind === "Secret") {
      if (f.no === 2 && f.bytes) addEntry(obj, "data", mapEntry(f.bytes, true));
      if (f.no === 3 && f.bytes?.length) obj.type = text(f.bytes);
      if (f.no === 4 && f.bytes) addEntry(obj, "stringData", mapEntry(f.bytes, false));
      if (f.no === 5) obj.immutable = f.varint === 1n;
    }
  }
  return obj;
}

const SUPPORTED = new Set(["Namespace", "ConfigMap", "Secret"]);

export function decodeProtobuf(buf: Buffer): JsonObject {
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b))
    throw errors.badRequest("protobuf body without the k8s envelope");
  try {
    let apiVersion = "";
    let kind = "";
    let raw: Uint8Array | undefined;
    for (const f of fields(buf.subarray(4))) {
      if (f.no === 1 && f.bytes) {
        for (const t of fields(f.bytes)) {
          if (t.no === 1) apiVersion = text(t.bytes);
          if (t.no === 2) kind = text(t.bytes);
        }
      }
      if (f.no === 2) raw = f.bytes;
    }
    if (apiVersion !== "v1" || !SUPPORTED.has(kind) || !raw)
      throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf (${apiVersion} ${kind})`);
    return decodeKind(kind, raw);
  } catch (err) {
    if (err instanceof RangeError) throw errors.badRequest(`malformed protobuf body: ${err.message}`);
    throw err;
  }
}
