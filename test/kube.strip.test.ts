import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { stripMembers, UNREAD_METADATA, WATCH_OBJECT_METADATA, type MemberPath } from "../src/kube/strip.js";
import { edgeString, jsonValue, SEED } from "./props.arbitraries.js";

/**
 * Cutting metadata.managedFields out of list and watch JSON before it is parsed: whatever the
 * text, parsing the result gives the parsed original minus those members, and text that does
 * not scan is left alone.
 */

/** List responses: `{…,"items":[{…,"metadata":{…}},…]}` (paths with `*` are supported, and tested). */
const LIST_ITEMS_METADATA: MemberPath = ["items", "*", "metadata"];

/** The parsed value with the named members removed from every object at `path`. */
function removeAt(value: unknown, path: MemberPath, names: ReadonlySet<string>, k = 0): unknown {
  if (k === path.length) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => !names.has(key)));
  }
  if (path[k] === "*") {
    return Array.isArray(value) ? value.map((v) => removeAt(v, path, names, k + 1)) : value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === path[k] ? removeAt(v, path, names, k + 1) : v]),
  );
}

/** Canonical text of a parsed value (key order is kept by JSON.parse and by removeAt). */
const canon = (text: string): string => JSON.stringify(JSON.parse(text));
const expected = (text: string, path: MemberPath): string =>
  JSON.stringify(removeAt(JSON.parse(text), path, UNREAD_METADATA));

/** Strings that look like the structure the scan follows. */
const trap = fc.oneof(
  edgeString,
  fc.constantFrom(
    '"managedFields":[',
    '\\"managedFields\\":',
    "managedFields",
    '{"metadata":{"managedFields":[1]}}',
    "]}",
    '\\\\"',
    '",',
    "\\u0022",
  ),
);
const value = fc.oneof({ weight: 2, arbitrary: jsonValue }, { weight: 1, arbitrary: trap });
const member = fc.tuple(
  fc.oneof(fc.constantFrom("name", "labels", "annotations", "managedFields"), trap),
  value,
);

const managedFields = fc.oneof(
  fc.array(
    fc.record({
      manager: trap,
      operation: fc.constantFrom("Update", "Apply"),
      fieldsV1: fc.dictionary(
        fc.oneof(fc.constant('k:{"name":"x"}'), trap),
        fc.oneof(fc.constant({}), jsonValue),
      ),
    }),
    { maxLength: 3 },
  ),
  value,
);

/** Metadata with managedFields (or not) anywhere among other members. */
const metadata = fc
  .tuple(fc.array(member, { maxLength: 5 }), fc.option(managedFields, { nil: undefined }), fc.nat())
  .map(([members, mf, at]) => {
    const entries = members.filter(([k]) => k !== "managedFields");
    if (mf !== undefined) entries.splice(at % (entries.length + 1), 0, ["managedFields", mf]);
    return Object.fromEntries(entries);
  });

const kubeObject = fc
  .tuple(metadata, fc.option(jsonValue, { nil: undefined }), fc.array(member, { maxLength: 2 }), fc.boolean())
  .map(([md, spec, extra, metadataLast]) => {
    const entries: [string, unknown][] = [["apiVersion", "example.com/v1"], ...extra];
    if (spec !== undefined) entries.push(["spec", { managedFields: spec, metadata: { managedFields: 1 } }]);
    if (metadataLast) entries.push(["metadata", md]);
    else entries.unshift(["metadata", md]);
    return Object.fromEntries(entries);
  });

const watchLine = fc
  .tuple(fc.constantFrom("ADDED", "MODIFIED", "DELETED"), fc.oneof(kubeObject, value), fc.boolean())
  .map(([type, object, objectFirst]) => (objectFirst ? { object, type } : { type, object }));

const listBody = fc
  .tuple(
    fc.array(fc.oneof({ weight: 5, arbitrary: kubeObject }, { weight: 1, arbitrary: value }), {
      maxLength: 5,
    }),
    metadata,
  )
  .map(([items, md]) => ({ kind: "WidgetList", metadata: md, items }));

/** Compact (as servers send it) or indented, so whitespace between tokens is covered too. */
const spelled = (v: unknown): fc.Arbitrary<string> =>
  fc.constantFrom(0, 1, 2).map((indent) => JSON.stringify(v, null, indent === 2 ? "\t" : indent));

const cases: [string, fc.Arbitrary<unknown>, MemberPath][] = [
  ["watch events", watchLine, WATCH_OBJECT_METADATA],
  ["list responses", listBody, LIST_ITEMS_METADATA],
];

describe.each(cases)("stripMembers on %s", (_what, arb, path) => {
  it("parses to the original minus the members, and removes every one it can see", () => {
    fc.assert(
      fc.property(arb.chain(spelled), (text) => {
        const out = stripMembers(Buffer.from(text), path, UNREAD_METADATA);
        expect(canon(out)).toBe(expected(text, path));
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  it("keeps the value when keys are spelled with escapes (they may then survive, nothing else changes)", () => {
    fc.assert(
      fc.property(arb.chain(spelled), fc.nat(), (text, which) => {
        // Escape one of the spellings of "managedFields" as a key: JSON.parse reads it as the same key.
        const spots = [...text.matchAll(/"managedFields"/g)].map((m) => m.index);
        const at = spots[which % Math.max(1, spots.length)];
        const escaped =
          at === undefined ? text : `${text.slice(0, at)}"managed\\u0046ields"${text.slice(at + 15)}`;
        const out = stripMembers(Buffer.from(escaped), path, UNREAD_METADATA);
        expect(expected(out, path)).toBe(expected(escaped, path));
      }),
      { seed: SEED, numRuns: 800 },
    );
  });

  it("never throws on broken text, and a truncated text stays unparseable", () => {
    fc.assert(
      fc.property(arb.chain(spelled), fc.nat(), fc.nat(), (text, cut, drop) => {
        const truncated = text.slice(0, cut % text.length);
        expect(
          () => JSON.parse(stripMembers(Buffer.from(truncated), path, UNREAD_METADATA)) as unknown,
        ).toThrow();
        // One character dropped: whatever the scan makes of it, it does not throw, and text
        // that still parses gives what the original gives.
        const i = drop % text.length;
        // As bytes: a dropped half of a surrogate pair is then U+FFFD, as the server would send it.
        const mutated = Buffer.from(text.slice(0, i) + text.slice(i + 1));
        const out = stripMembers(mutated, path, UNREAD_METADATA);
        let original: string | undefined;
        try {
          original = expected(mutated.toString("utf8"), path);
        } catch {
          original = undefined;
        }
        if (original !== undefined) expect(canon(out)).toBe(original);
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });
});

describe("stripMembers examples", () => {
  const watch = (text: string): string =>
    stripMembers(Buffer.from(text), WATCH_OBJECT_METADATA, UNREAD_METADATA);

  it("cuts the member with its comma, wherever it is", () => {
    expect(watch('{"type":"A","object":{"metadata":{"managedFields":[{"a":"]"}],"name":"x"}}}')).toBe(
      '{"type":"A","object":{"metadata":{"name":"x"}}}',
    );
    expect(watch('{"type":"A","object":{"metadata":{"name":"x","managedFields":[]}}}')).toBe(
      '{"type":"A","object":{"metadata":{"name":"x"}}}',
    );
    expect(watch('{"type":"A","object":{"metadata":{"managedFields":null}}}')).toBe(
      '{"type":"A","object":{"metadata":{}}}',
    );
  });

  it("leaves members of the same name elsewhere, and strings that look like them", () => {
    const text =
      '{"type":"A","object":{"spec":{"metadata":{"managedFields":1}},"metadata":{"name":"\\"managedFields\\":[","annotations":{"managedFields":"x"}}}}';
    expect(watch(text)).toBe(text);
  });

  it("decodes what it keeps as the whole text would be decoded, invalid UTF-8 included", () => {
    const head = Buffer.from('{"type":"A","object":{"metadata":{"name":"');
    const tail = Buffer.from('","managedFields":[{"f:x":{}}]}}}');
    for (const odd of [[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98, 0x80]]) {
      const bytes = Buffer.concat([head, Buffer.from(odd), tail]);
      const out = stripMembers(bytes, WATCH_OBJECT_METADATA, UNREAD_METADATA);
      expect(out).toBe(bytes.toString("utf8").replace(',"managedFields":[{"f:x":{}}]', ""));
    }
    // Right against a cut (in a literal JSON.parse rejects, but the decoding must not change).
    const open = '{"type":"A","object":{"metadata":{';
    for (const odd of [[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]) {
      const o = Buffer.from(odd);
      const before = Buffer.concat([Buffer.from(`${open}"a":1`), o, Buffer.from(',"managedFields":[]}}}')]);
      expect(stripMembers(before, WATCH_OBJECT_METADATA, UNREAD_METADATA)).toBe(
        Buffer.concat([Buffer.from(`${open}"a":1`), o, Buffer.from("}}}")]).toString("utf8"),
      );
      const after = Buffer.concat([Buffer.from(`${open}"managedFields":[],"a":1`), o, Buffer.from("}}}")]);
      expect(stripMembers(after, WATCH_OBJECT_METADATA, UNREAD_METADATA)).toBe(
        Buffer.concat([Buffer.from(`${open}"a":1`), o, Buffer.from("}}}")]).toString("utf8"),
      );
    }
  });

  it("returns text it cannot follow unchanged", () => {
    for (const text of [
      '{"object":{"metadata":{"managedFields":[}}}',
      '{"object":{"metadata":{"managedFields":',
      "[",
      "",
    ]) {
      expect(watch(text)).toBe(text);
    }
  });

  it("removes a key spelled with escapes only when the text also names the member unescaped", () => {
    // The plain spelling is what a search for the name finds: without one, the text is left alone.
    const alone = '{"type":"A","object":{"metadata":{"managed\\u0046ields":[1],"name":"x"}}}';
    expect(watch(alone)).toBe(alone);
    const named = '{"type":"A","object":{"metadata":{"managed\\u0046ields":[1],"name":"managedFields"}}}';
    expect(watch(named)).toBe('{"type":"A","object":{"metadata":{"name":"managedFields"}}}');
    // Lists are searched before they are scanned; the outcome is the same.
    const list = (text: string): string =>
      stripMembers(Buffer.from(text), LIST_ITEMS_METADATA, UNREAD_METADATA);
    const items = '{"items":[{"metadata":{"managed\\u0046ields":1,"a":2}}]}';
    expect(list(items)).toBe(items);
    expect(list('{"items":[{"metadata":{"managed\\u0046ields":1,"a":"managedFields"}}]}')).toBe(
      '{"items":[{"metadata":{"a":"managedFields"}}]}',
    );
  });

  it("returns the text unchanged when a key it has to read does not decode", () => {
    for (const text of [
      '{"type":"A","object":{"metadata":{"\\q":1,"managedFields":[]}}}',
      '{"\\q":1,"object":{"metadata":{"managedFields":[]}}}',
      '{"type":"A","object":{"metadata":{"managedFields":[],"\\u12":1}}}',
    ]) {
      expect(watch(text)).toBe(text);
    }
    // A key inside a skipped value is not read.
    expect(watch('{"object":{"spec":{"\\q":1},"metadata":{"managedFields":[],"a":1}}}')).toBe(
      '{"object":{"spec":{"\\q":1},"metadata":{"a":1}}}',
    );
  });

  it("matches closers to openers in a removed value, however deep", () => {
    const line = (mf: string): string =>
      `{"type":"A","object":{"metadata":{"managedFields":${mf},"name":"x"}}}`;
    const removed = '{"type":"A","object":{"metadata":{"name":"x"}}}';
    for (const depth of [1, 29, 30, 31, 45]) {
      const opens = Array.from({ length: depth }, (_, i) => (i % 3 === 0 ? "[" : '{"k":'));
      const closes = opens.map((o) => (o === "[" ? "]" : "}")).reverse();
      expect(watch(line(opens.join("") + "1" + closes.join("")))).toBe(removed);
      // Depths past 30 are remembered differently: a wrong closer on either side must be seen.
      for (const at of new Set([0, depth - 1, Math.max(0, depth - 31), depth >> 1])) {
        const bad = closes.map((c, i) => (i === at ? (c === "]" ? "}" : "]") : c));
        const text = line(opens.join("") + "1" + bad.join(""));
        expect(watch(text)).toBe(text);
      }
    }
    for (const mf of ["[1}", '{"a":1]', '{"a":[1}]', "[{]}"]) expect(watch(line(mf))).toBe(line(mf));
  });

  it("stops after the one object of a watch event; JSON.parse's last-duplicate-wins still holds", () => {
    const text =
      '{"type":"A","object":{"metadata":{"managedFields":1,"name":"a"},"metadata":{"name":"b","managedFields":2}}}';
    const out = watch(text);
    expect(JSON.parse(out)).toEqual(JSON.parse(text));
  });
});
