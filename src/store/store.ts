import { familyHeader, OPENMETRICS_EOF, type ExpositionFormat } from "../exposition/format.js";
import { gzipPiece, GzipTrailer, GZIP_HEADER, type GzipPiece } from "./gzip.js";

/**
 * Rendered series, kept per object and family (never the objects themselves). A scrape walks the
 * families in name order and, within each, the objects in (namespace, name) order, concatenating
 * fragments rendered at event time: the same objects always give the same bytes (SPEC §6).
 *
 * Layout, for a million series (docs/performance.md): each family is a list of blocks of at most
 * a few hundred objects in key order. A settled ("frozen") block is one Buffer holding the bytes
 * of all its objects plus their offsets, so a scrape writes a few thousand ready Buffers and
 * never encodes a string, and the store holds one byte per character instead of a string and
 * a Map entry per object and family. A block that changes is "thawed": its parts become indexes
 * into the old Buffer or new strings, and it is frozen again by a background pass or the next
 * scrape, whichever comes first. A frozen block also caches its compressed form (see gzip.ts:
 * pieces that join into one gzip stream), so a gzip scrape only compresses blocks that changed.
 */

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

/** Split a block above either bound (a scrape writes one Buffer per block). */
const BLOCK_MAX_KEYS = 512;
const BLOCK_MAX_BYTES = 64 * 1024;
/** Background freezing works in slices of about this long, so it never stalls the loop. */
const COMPACT_SLICE_MS = 4;
const COMPACT_DELAY_MS = 50;
const GZIP_LEVEL = 1;

interface Block {
  /** Object keys, sorted. */
  keys: string[];
  /** Thawed: per key, a new fragment or the index of its bytes in `buf`. Undefined when frozen. */
  parts: (string | number)[] | undefined;
  /** Bytes of the frozen state: fragment i is buf[offsets[i], offsets[i+1]). */
  buf: Buffer;
  offsets: Uint32Array;
  /** Compressed `buf`, when frozen and computed. */
  gz: GzipPiece | undefined;
  /** Approximate current size, to decide when to split. */
  bytes: number;
}

interface Family {
  readonly name: string;
  headers: Record<ExpositionFormat, Buffer>;
  gzHeaders: Partial<Record<ExpositionFormat, GzipPiece>>;
  blocks: Block[];
  series: number;
  objects: number;
}

interface Held {
  /** The one key string of this object, shared by all its families' blocks. */
  readonly key: string;
  families: string[];
  generation: number;
}

interface Resource {
  readonly objects: Map<string, Held>;
  generation: number;
  relisting: boolean;
}

const EMPTY = Buffer.alloc(0);
const NO_OFFSETS = new Uint32Array(1);

// NUL sorts before every other character, so comparing keys compares namespace, then name.
function idKey(ref: ObjectRef): string {
  return `${ref.namespace}\u0000${ref.name}`;
}

function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

function countBufferLines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(10, start); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

function newBlock(): Block {
  return { keys: [], parts: [], buf: EMPTY, offsets: NO_OFFSETS, gz: undefined, bytes: 0 };
}

function partBytes(block: Block, part: string | number): number {
  return typeof part === "string" ? part.length : block.offsets[part + 1]! - block.offsets[part]!;
}

function partText(block: Block, part: string | number): string {
  return typeof part === "string"
    ? part
    : block.buf.toString("utf8", block.offsets[part], block.offsets[part + 1]);
}

function partLines(block: Block, part: string | number): number {
  return typeof part === "string"
    ? countLines(part)
    : countBufferLines(block.buf, block.offsets[part]!, block.offsets[part + 1]!);
}

function thaw(block: Block): (string | number)[] {
  if (block.parts) return block.parts;
  const parts = new Array<string | number>(block.keys.length);
  for (let i = 0; i < parts.length; i++) parts[i] = i;
  block.parts = parts;
  block.gz = undefined;
  return parts;
}

/** Write the block's current parts into one new Buffer. */
function freeze(block: Block): void {
  const parts = block.parts;
  if (!parts) return;
  let total = 0;
  const sizes = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const n = typeof p === "string" ? Buffer.byteLength(p) : block.offsets[p + 1]! - block.offsets[p]!;
    sizes[i] = n;
    total += n;
  }
  // Not from the shared pool: a block outlives scrapes and must not pin pool slabs.
  const buf = total === 0 ? EMPTY : Buffer.allocUnsafeSlow(total);
  const offsets = new Uint32Array(parts.length + 1);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    offsets[i] = at;
    if (typeof p === "string") buf.write(p, at, "utf8");
    else block.buf.copy(buf, at, block.offsets[p], block.offsets[p + 1]);
    at += sizes[i]!;
  }
  offsets[parts.length] = at;
  block.buf = buf;
  block.offsets = offsets;
  block.parts = undefined;
  block.gz = undefined;
  block.bytes = total;
}

/** Split a thawed block in two halves (both keep reading the old Buffer for unchanged parts). */
function split(block: Block): Block {
  const parts = thaw(block);
  const mid = block.keys.length >>> 1;
  const right: Block = {
    keys: block.keys.splice(mid),
    parts: parts.splice(mid),
    buf: block.buf,
    offsets: block.offsets,
    gz: undefined,
    bytes: 0,
  };
  for (const p of right.parts!) right.bytes += partBytes(right, p);
  block.bytes = Math.max(0, block.bytes - right.bytes);
  return right;
}

function gzipHeader(family: Family, format: ExpositionFormat): GzipPiece {
  return (family.gzHeaders[format] ??= gzipPiece(family.headers[format], GZIP_LEVEL));
}

const EOF_BYTES = Buffer.from(OPENMETRICS_EOF);

export interface FamilyDefinition {
  readonly name: string;
  readonly help: string;
}

export class MetricStore {
  private readonly families = new Map<string, Family>();
  private sortedFamilies: Family[] | undefined;
  private readonly resources = new Map<string, Resource>();
  /** Thawed blocks (and the family they belong to), for the background freezer. */
  private readonly dirty = new Map<Block, Family>();
  /** Families whose blocks need splitting or pruning once no scrape is walking them. */
  private readonly reshape = new Set<Family>();
  /** Scrapes in progress: while any is, blocks are never split or removed (stable walks). */
  private scrapes = 0;
  private compactTimer: NodeJS.Timeout | undefined;
  private eofGz: GzipPiece | undefined;

  /**
   * Declare the families that may be served. Fragments of families no longer declared are
   * dropped; a family whose help changed keeps its fragments under the new header.
   */
  setFamilies(defs: Iterable<FamilyDefinition>): void {
    const next = new Map<string, FamilyDefinition>();
    for (const d of defs) next.set(d.name, d);
    for (const [name, family] of this.families) {
      if (!next.has(name)) {
        for (const b of family.blocks) this.dirty.delete(b);
        this.reshape.delete(family);
        this.families.delete(name);
      }
    }
    for (const d of next.values()) {
      const prev = this.families.get(d.name);
      const headers = {
        text: Buffer.from(familyHeader(d.name, d.help, "text")),
        openmetrics: Buffer.from(familyHeader(d.name, d.help, "openmetrics")),
      };
      if (prev) {
        if (
          !prev.headers.text.equals(headers.text) ||
          !prev.headers.openmetrics.equals(headers.openmetrics)
        ) {
          prev.headers = headers;
          prev.gzHeaders = {};
        }
      } else {
        this.families.set(d.name, {
          name: d.name,
          headers,
          gzHeaders: {},
          blocks: [],
          series: 0,
          objects: 0,
        });
      }
    }
    this.sortedFamilies = undefined;
  }

  private resource(id: string): Resource {
    let r = this.resources.get(id);
    if (!r) {
      r = { objects: new Map(), generation: 0, relisting: false };
      this.resources.set(id, r);
    }
    return r;
  }

  private blockFor(family: Family, key: string): Block {
    const blocks = family.blocks;
    if (blocks.length === 0) {
      const b = newBlock();
      blocks.push(b);
      return b;
    }
    // The last block whose first key is <= key (or the first block). A block emptied by deletes
    // stays until the next reshape; it counts as starting where the next non-empty block does,
    // so the search stays monotonic and never files a key into a block out of order.
    const firstOf = (i: number): string | undefined => {
      for (let j = i; j < blocks.length; j++) {
        const k = blocks[j]!.keys[0];
        if (k !== undefined) return k;
      }
      return undefined;
    };
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const first = firstOf(mid);
      if (first !== undefined && first <= key) lo = mid;
      else hi = mid - 1;
    }
    return blocks[lo]!;
  }

  private touched(family: Family, block: Block): void {
    this.dirty.set(block, family);
    if (block.keys.length > BLOCK_MAX_KEYS || block.bytes > BLOCK_MAX_BYTES || block.keys.length === 0) {
      this.reshape.add(family);
    }
    this.scheduleCompact();
  }

  private setFragment(family: Family, key: string, fragment: string | undefined): void {
    if (fragment === undefined && family.blocks.length === 0) return;
    const block = this.blockFor(family, key);
    const i = lowerBound(block.keys, key);
    const exists = block.keys[i] === key;
    if (exists) {
      const old = block.parts ? block.parts[i]! : i;
      if (fragment !== undefined) {
        // Unchanged objects (relists, resyncs, status writes that render the same) cost a
        // comparison and keep their block, and its gzip member, as they are.
        if (
          typeof old === "string"
            ? old === fragment
            : partBytes(block, old) === Buffer.byteLength(fragment) && partText(block, old) === fragment
        ) {
          return;
        }
      }
      family.series -= partLines(block, old);
      block.bytes -= partBytes(block, old);
      const parts = thaw(block);
      if (fragment === undefined) {
        block.keys.splice(i, 1);
        parts.splice(i, 1);
        family.objects--;
      } else {
        parts[i] = fragment;
        block.bytes += fragment.length;
        family.series += countLines(fragment);
      }
      this.touched(family, block);
      return;
    }
    if (fragment === undefined) return;
    const parts = thaw(block);
    block.keys.splice(i, 0, key);
    parts.splice(i, 0, fragment);
    block.bytes += fragment.length;
    family.series += countLines(fragment);
    family.objects++;
    this.touched(family, block);
  }

  /**
   * Replace everything an object contributes. `families[i]` names the family of `fragments[i]`;
   * an undefined fragment means the object has no series there. Objects of different resources
   * never collide, even with the same namespace and name.
   */
  upsert(
    resourceId: string,
    ref: ObjectRef,
    families: readonly string[],
    fragments: readonly (string | undefined)[],
  ): void {
    const res = this.resource(resourceId);
    const id = idKey(ref);
    let held = res.objects.get(id);
    const key = held?.key ?? `${id}\u0000${resourceId}`;
    const now: string[] = [];
    for (let i = 0; i < families.length; i++) {
      const fragment = fragments[i];
      const family = this.families.get(families[i]!);
      if (!family) continue;
      this.setFragment(family, key, fragment);
      if (fragment !== undefined) now.push(family.name);
    }
    if (held) {
      for (const name of held.families) {
        if (!now.includes(name)) {
          const family = this.families.get(name);
          if (family) this.setFragment(family, key, undefined);
        }
      }
      held.families = now;
      held.generation = res.generation;
    } else {
      held = { key, families: now, generation: res.generation };
      res.objects.set(id, held);
    }
  }

  delete(resourceId: string, ref: ObjectRef): void {
    const res = this.resources.get(resourceId);
    if (!res) return;
    const id = idKey(ref);
    const held = res.objects.get(id);
    if (!held) return;
    for (const name of held.families) {
      const family = this.families.get(name);
      if (family) this.setFragment(family, held.key, undefined);
    }
    res.objects.delete(id);
  }

  /**
   * A relist begins: objects upserted until endRelist form the new state. Until then the old
   * fragments stay served, so a relist never opens a gap in the series.
   */
  beginRelist(resourceId: string): void {
    const res = this.resource(resourceId);
    res.generation++;
    res.relisting = true;
  }

  /** Remove every object of the resource not upserted since beginRelist. */
  endRelist(resourceId: string): void {
    const res = this.resources.get(resourceId);
    if (!res) return;
    res.relisting = false;
    for (const [id, held] of [...res.objects]) {
      if (held.generation !== res.generation) {
        const sep = id.indexOf("\u0000");
        this.delete(resourceId, { namespace: id.slice(0, sep), name: id.slice(sep + 1) });
      }
    }
  }

  /** Forget a resource entirely (its CRD or its last configuration is gone). */
  dropResource(resourceId: string): void {
    const res = this.resources.get(resourceId);
    if (!res) return;
    res.generation++;
    this.endRelist(resourceId);
    this.resources.delete(resourceId);
  }

  objectCount(resourceId: string): number {
    return this.resources.get(resourceId)?.objects.size ?? 0;
  }

  seriesCount(family: string): number {
    return this.families.get(family)?.series ?? 0;
  }

  /** What the store holds, in bytes and counts (bench and diagnostics). */
  stats(): Record<string, number> {
    const out = { families: 0, blocks: 0, thawed: 0, keys: 0, bufBytes: 0, offsetBytes: 0, gzBytes: 0 };
    for (const family of this.families.values()) {
      out.families++;
      for (const b of family.blocks) {
        out.blocks++;
        if (b.parts) out.thawed++;
        out.keys += b.keys.length;
        out.bufBytes += b.buf.length;
        out.offsetBytes += b.offsets.byteLength;
        out.gzBytes += b.gz?.deflated.length ?? 0;
      }
    }
    let objects = 0;
    for (const r of this.resources.values()) objects += r.objects.size;
    return { ...out, objects };
  }

  private ordered(): Family[] {
    this.sortedFamilies ??= [...this.families.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    return this.sortedFamilies;
  }

  // ---- background upkeep ------------------------------------------------------------------

  /** Changes are gathered for COMPACT_DELAY_MS; a pass that runs out of time resumes at once. */
  private scheduleCompact(delayMs = COMPACT_DELAY_MS): void {
    if (this.compactTimer !== undefined) return;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = undefined;
      this.compact(COMPACT_SLICE_MS);
    }, delayMs);
    this.compactTimer.unref();
  }

  /**
   * Split oversized blocks, drop empty ones and freeze thawed ones, for about `budgetMs`
   * (Infinity: all of it); reschedules itself when work remains.
   */
  compact(budgetMs = Infinity): void {
    const started = performance.now();
    if (this.scrapes === 0) {
      for (const family of this.reshape) this.reshapeFamily(family);
      this.reshape.clear();
    }
    for (const block of this.dirty.keys()) {
      freeze(block);
      this.dirty.delete(block);
      if (performance.now() - started >= budgetMs) break;
    }
    if (this.dirty.size > 0 || this.reshape.size > 0)
      this.scheduleCompact(this.dirty.size > 0 ? 1 : COMPACT_DELAY_MS);
  }

  private reshapeFamily(family: Family): void {
    const out: Block[] = [];
    for (const block of family.blocks) {
      if (block.keys.length === 0) {
        this.dirty.delete(block);
        continue;
      }
      const pending = [block];
      while (pending.length > 0) {
        const b = pending.shift()!;
        if (b.keys.length > BLOCK_MAX_KEYS || (b.bytes > BLOCK_MAX_BYTES && b.keys.length > 1)) {
          const right = split(b);
          this.dirty.set(b, family);
          this.dirty.set(right, family);
          pending.unshift(b, right);
          continue;
        }
        out.push(b);
      }
    }
    family.blocks = out;
  }

  // ---- output -----------------------------------------------------------------------------

  /**
   * The exposition as a sequence of pieces (headers and per-object fragments), for offline
   * rendering and tests. Each object's fragment is read when reached, so changes made while the
   * sequence is consumed show up exactly once or not at all.
   */
  *exposition(format: ExpositionFormat): Generator<string> {
    this.scrapes++;
    try {
      for (const family of this.ordered()) {
        if (family.objects === 0) continue;
        yield family.headers[format].toString();
        for (const block of family.blocks.slice()) {
          // Snapshot the keys so concurrent updates cannot skip or repeat an object.
          for (const key of block.keys.slice()) {
            const i = lowerBound(block.keys, key);
            if (block.keys[i] !== key) continue;
            yield partText(block, block.parts ? block.parts[i]! : i);
          }
        }
      }
      if (format === "openmetrics") yield OPENMETRICS_EOF;
    } finally {
      this.scrapes--;
    }
  }

  /**
   * The exposition as ready Buffers, one per block, for serving: a thawed block is frozen when
   * reached. With `gzip`, the Buffers form one gzip stream of exactly the uncompressed bytes,
   * made of each block's cached compressed piece. Blocks are never split or dropped while a
   * walk is in progress, so each object is written once per family.
   */
  *chunks(format: ExpositionFormat, gzip = false): Generator<Buffer> {
    this.scrapes++;
    const trailer = gzip ? new GzipTrailer() : undefined;
    const piece = (p: GzipPiece): Buffer => {
      trailer?.add(p);
      return p.deflated;
    };
    try {
      if (gzip) yield GZIP_HEADER;
      for (const family of this.ordered()) {
        if (family.objects === 0) continue;
        yield gzip ? piece(gzipHeader(family, format)) : family.headers[format];
        for (const block of family.blocks) {
          if (block.parts) {
            freeze(block);
            this.dirty.delete(block);
          }
          if (block.buf.length === 0) continue;
          yield gzip ? piece((block.gz ??= gzipPiece(block.buf, GZIP_LEVEL))) : block.buf;
        }
      }
      if (format === "openmetrics") {
        yield gzip ? piece((this.eofGz ??= gzipPiece(EOF_BYTES, GZIP_LEVEL))) : EOF_BYTES;
      }
      if (trailer) yield trailer.end();
    } finally {
      this.scrapes--;
      if (this.scrapes === 0 && this.reshape.size > 0) this.scheduleCompact();
    }
  }

  /** The whole exposition as one string (offline render, tests). */
  render(format: ExpositionFormat): string {
    let out = "";
    for (const piece of this.exposition(format)) out += piece;
    return out;
  }
}
