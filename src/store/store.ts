import { familyHeader, OPENMETRICS_EOF, type ExpositionFormat } from "../exposition/format.js";
import { gzipPiece, GzipTrailer, GZIP_HEADER, inflatePieceSync, pieceBytes, type GzipPiece } from "./gzip.js";

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
 *
 * Cold blocks: a frozen block whose bytes were not needed for `coolAfterMs` keeps only its
 * compressed piece (about 1/25 of the text). Gzip scrapes write the piece as they always do;
 * uncompressed scrapes inflate it on the way out (see `textPieces`); an update inflates the
 * block again ("warm": Buffer and piece both valid until it changes or cools again).
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
/** Default for `coolAfterMs`: a block untouched this long keeps only its compressed piece. */
export const DEFAULT_COOL_AFTER_MS = 2000;

interface Block {
  /** Object keys, sorted. */
  keys: string[];
  /**
   * Thawed: per key, the index of its bytes in `buf`, or a new fragment's UTF-8 bytes as a latin1
   * string (one character per byte, so its length is its byte length). Undefined when frozen.
   */
  parts: (string | number)[] | undefined;
  /**
   * Bytes of the frozen state: fragment i is buf[offsets[i], offsets[i+1]). Undefined when the
   * block is cold (its bytes are only in `gz`); never undefined while thawed.
   */
  buf: Bytes | undefined;
  /** A plain array (V8 heap, not a malloc'd ArrayBuffer: see GzipPiece). */
  offsets: number[];
  /** Compressed bytes of the frozen state, when frozen and computed (always, when cold). */
  gz: GzipPiece | undefined;
  /** Approximate current size, to decide when to split. */
  bytes: number;
  /** When the uncompressed bytes were last written or needed (performance.now()). */
  usedAt: number;
  /** The family whose list holds this block (a dropped and re-declared family has new blocks). */
  readonly owner: Family;
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
  generation: number;
  /**
   * The families of its last upsert: the target plan's list, one array shared by every object
   * of the target, so an object costs no list of its own.
   */
  slots: readonly string[];
  /**
   * Per slot i: hints[2i] is the block its fragment was last put in, undefined when it has no
   * series in that family; hints[2i + 1] the index there. Finding a key costs two binary
   * searches of string comparisons (blocks, then keys), about a third of an update's store
   * time; an update usually lands where the previous one did, and the hint is checked before it
   * is trusted.
   */
  hints: (Block | number | undefined)[];
}

interface Resource {
  readonly objects: Map<string, Held>;
  generation: number;
  relisting: boolean;
}

const EMPTY = Buffer.alloc(0);
const NO_OFFSETS: readonly number[] = [0];

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

/**
 * A frozen block's UTF-8 bytes: a Buffer, or (in a store that compresses) a latin1 string with
 * one character per byte. The string lives in the V8 heap, which compacts and gives memory back;
 * a Buffer is malloc'd, and freeing thousands of them when blocks go cold leaves holes that stay
 * resident (glibc returns only the top of its heap). So a compressing store keeps no long-lived
 * Buffer at all: warm bytes are strings, cold ones compressed strings (see GzipPiece).
 */
type Bytes = Buffer | string;

/** Scratch space for building and compressing a block (used synchronously, then reused). */
let scratch = Buffer.allocUnsafeSlow(BLOCK_MAX_BYTES * 2);
/** Fragments are encoded in the scratch space, grown for them up to this size. */
const SCRATCH_GROWTH_LIMIT = 1024 * 1024;

function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, scratch.length * 2));
  return scratch;
}

/**
 * Room to encode `fragment` as UTF-8 (at most 3 bytes per UTF-16 unit) and copy as many bytes
 * again behind it (see sameBytes): the scratch space, or for an outsized fragment a Buffer of
 * its own, so that one huge object does not leave the scratch space huge.
 */
function encodingSpace(fragment: string): Buffer {
  const need = 6 * fragment.length;
  if (need <= scratch.length || need <= SCRATCH_GROWTH_LIMIT) return scratchOf(need);
  return Buffer.allocUnsafeSlow(2 * Buffer.byteLength(fragment));
}

/** The bytes as a Buffer, valid only until the next use of the scratch space. */
function transientBuffer(bytes: Bytes): Buffer {
  if (typeof bytes !== "string") return bytes;
  const buf = scratchOf(bytes.length);
  buf.write(bytes, 0, "latin1");
  return buf.subarray(0, bytes.length);
}

/** The bytes as a Buffer of their own (for writing to a response). */
function ownBuffer(bytes: Bytes): Buffer {
  return typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
}

function bytesText(bytes: Bytes, start: number, end: number): string {
  return typeof bytes === "string"
    ? Buffer.from(bytes.substring(start, end), "latin1").toString("utf8")
    : bytes.toString("utf8", start, end);
}

function countBufferLines(buf: Bytes, start: number, end: number): number {
  let n = 0;
  if (typeof buf === "string") {
    for (let i = buf.indexOf("\n", start); i !== -1 && i < end; i = buf.indexOf("\n", i + 1)) n++;
  } else {
    for (let i = buf.indexOf(10, start); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) n++;
  }
  return n;
}

function newBlock(owner: Family): Block {
  return {
    keys: [],
    parts: [],
    buf: EMPTY,
    offsets: NO_OFFSETS as number[],
    gz: undefined,
    bytes: 0,
    usedAt: 0,
    owner,
  };
}

/** The block's uncompressed bytes (inflated from its piece when cold, without keeping them). */
function bytesOf(block: Block): Bytes {
  return block.buf ?? inflatePieceSync(block.gz!);
}

function partBytes(block: Block, part: string | number): number {
  return typeof part === "string" ? part.length : block.offsets[part + 1]! - block.offsets[part]!;
}

/** Text of a part; `buf` must be the block's bytes (warm blocks: block.buf). */
function partText(block: Block, part: string | number, buf = block.buf!): string {
  return typeof part === "string"
    ? bytesText(part, 0, part.length)
    : bytesText(buf, block.offsets[part]!, block.offsets[part + 1]!);
}

/**
 * Whether `enc[0, n)` holds the same bytes as `bytes[start, end)`. `enc` must have room for 2n
 * bytes (a string is copied behind the first n to be compared without allocating).
 */
function sameBytes(enc: Buffer, n: number, bytes: Bytes, start: number, end: number): boolean {
  if (end - start !== n) return false;
  if (n === 0) return true;
  if (typeof bytes !== "string") return bytes.compare(enc, 0, n, start, end) === 0;
  enc.write(start === 0 && end === bytes.length ? bytes : bytes.substring(start, end), n, n, "latin1");
  return enc.compare(enc, n, 2 * n, 0, n) === 0;
}

function partLines(block: Block, part: string | number): number {
  return typeof part === "string"
    ? countLines(part)
    : countBufferLines(block.buf!, block.offsets[part]!, block.offsets[part + 1]!);
}

/** Make a frozen block's parts editable. The block must be warm (its Buffer present). */
function thaw(block: Block): (string | number)[] {
  if (block.parts) return block.parts;
  if (block.buf === undefined) throw new Error("store: thawing a cold block");
  const parts = new Array<string | number>(block.keys.length);
  for (let i = 0; i < parts.length; i++) parts[i] = i;
  block.parts = parts;
  block.gz = undefined;
  return parts;
}

/**
 * Write the block's current parts into one new Buffer, or (`asString`) into one latin1 string
 * built in the scratch space.
 */
function freeze(block: Block, asString: boolean): void {
  const parts = block.parts;
  if (!parts) return;
  let total = 0;
  const sizes = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const n = typeof p === "string" ? p.length : block.offsets[p + 1]! - block.offsets[p]!;
    sizes[i] = n;
    total += n;
  }
  // Not from the shared pool: a block outlives scrapes and must not pin pool slabs.
  const buf = total === 0 ? EMPTY : asString ? scratchOf(total) : Buffer.allocUnsafeSlow(total);
  const old = block.buf;
  const offsets = new Array<number>(parts.length + 1);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    offsets[i] = at;
    if (typeof p === "string") buf.write(p, at, "latin1");
    else if (typeof old === "string")
      buf.write(old.substring(block.offsets[p]!, block.offsets[p + 1]), at, "latin1");
    else old!.copy(buf, at, block.offsets[p], block.offsets[p + 1]);
    at += sizes[i]!;
  }
  offsets[parts.length] = at;
  block.buf = asString ? buf.toString("latin1", 0, total) : buf;
  block.offsets = offsets;
  block.parts = undefined;
  block.gz = undefined;
  block.bytes = total;
  block.usedAt = performance.now();
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
    usedAt: block.usedAt,
    owner: block.owner,
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

export interface StoreOptions {
  /**
   * Keep cold blocks compressed only (`--store-compression on`): about 1/25 of the memory for
   * the exposition, at the cost of inflating it for every uncompressed scrape. Default false.
   */
  compress?: boolean;
  /**
   * With `compress`: a frozen block whose bytes were not written or needed for this long keeps
   * only its compressed piece. Default DEFAULT_COOL_AFTER_MS.
   */
  coolAfterMs?: number;
}

/** A cold block in an uncompressed walk: its compressed piece, to be inflated on the way out. */
export type TextPiece = Buffer | GzipPiece;

export class MetricStore {
  private readonly coolAfterMs: number;
  /** Whether blocks are kept as strings and cooled (`compress`). */
  private readonly compressing: boolean;
  /** Frozen blocks holding uncompressed bytes, least recently used first (for cooling). */
  private readonly warm = new Map<Block, Family>();
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
  private compactAt = 0;
  private eofGz: GzipPiece | undefined;

  constructor(options: StoreOptions = {}) {
    this.compressing = options.compress === true;
    this.coolAfterMs = options.coolAfterMs ?? DEFAULT_COOL_AFTER_MS;
  }

  /** Blocks compressed so far (stats: unchanged blocks are never compressed again). */
  private compressions = 0;
  /** Updates whose recorded place (Held.hints) was stale, so the key was searched for (stats). */
  private hintMisses = 0;

  private compress(bytes: Bytes): GzipPiece {
    this.compressions++;
    return gzipPiece(transientBuffer(bytes), GZIP_LEVEL);
  }

  /** Note that a block's uncompressed bytes were just written or needed (it is warm). */
  private used(block: Block, family: Family): void {
    // Only a store that cools blocks reads usedAt and the warm list.
    if (!this.compressing) return;
    block.usedAt = performance.now();
    this.warm.delete(block);
    if (block.buf !== undefined && block.buf.length > 0) {
      this.warm.set(block, family);
      this.scheduleCompact(this.coolAfterMs);
    }
  }

  /** The block with its uncompressed Buffer present (inflated from its piece when cold). */
  private warmed(block: Block, family: Family): Block {
    if (block.buf === undefined) block.buf = inflatePieceSync(block.gz!).toString("latin1");
    if (!block.parts) this.used(block, family);
    return block;
  }
  /**
   * Declare the families that may be served. Fragments of families no longer declared are
   * dropped; a family whose help changed keeps its fragments under the new header.
   */
  setFamilies(defs: Iterable<FamilyDefinition>): void {
    const next = new Map<string, FamilyDefinition>();
    for (const d of defs) next.set(d.name, d);
    for (const [name, family] of this.families) {
      if (!next.has(name)) {
        for (const b of family.blocks) {
          this.dirty.delete(b);
          this.warm.delete(b);
        }
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
      const b = newBlock(family);
      blocks.push(b);
      return b;
    }
    // The last block whose first key is <= key (or the first block). A block emptied by deletes
    // stays until the next reshape; it counts as starting where the next non-empty block does,
    // so the search stays monotonic and never files a key into a block out of order.
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      let first = blocks[mid]!.keys[0];
      for (let j = mid + 1; first === undefined && j < blocks.length; j++) first = blocks[j]!.keys[0];
      if (first !== undefined && first <= key) lo = mid;
      else hi = mid - 1;
    }
    return blocks[lo]!;
  }

  private touched(family: Family, block: Block): void {
    this.dirty.set(block, family);
    this.warm.delete(block);
    if (block.keys.length > BLOCK_MAX_KEYS || block.bytes > BLOCK_MAX_BYTES || block.keys.length === 0) {
      this.reshape.add(family);
    }
    this.scheduleCompact();
  }

  /**
   * Put (or, undefined, remove) the fragment of `key` in `family`. With `hints`, the object's
   * Held.hints, `slot` is the family's position there: the hinted place is tried first and the
   * place used is recorded.
   */
  private setFragment(
    family: Family,
    key: string,
    fragment: string | undefined,
    hints?: (Block | number | undefined)[],
    slot = 0,
  ): void {
    if (fragment === undefined && family.blocks.length === 0) return;
    let block: Block | undefined;
    let i = 0;
    if (hints !== undefined) {
      const hinted = hints[2 * slot];
      // Blocks only ever hold keys of their owner, and a key only where it belongs in order.
      if (typeof hinted === "object" && hinted.owner === family) {
        const at = hints[2 * slot + 1] as number;
        if (hinted.keys[at] === key) {
          block = hinted;
          i = at;
        } else {
          // Moved within the block (inserts or removals before it), or out of it (a split).
          const j = lowerBound(hinted.keys, key);
          if (hinted.keys[j] === key) {
            block = hinted;
            i = j;
          }
        }
      }
    }
    if (block === undefined) {
      if (hints !== undefined && hints[2 * slot] !== undefined) this.hintMisses++;
      block = this.blockFor(family, key);
      i = lowerBound(block.keys, key);
    }
    if (hints !== undefined) {
      hints[2 * slot] = block;
      hints[2 * slot + 1] = i;
    }
    const exists = block.keys[i] === key;
    if (!exists && fragment === undefined) return;
    // Comparing, counting lines and thawing read the bytes: a cold block is inflated first.
    this.warmed(block, family);
    // The new fragment is encoded once, into the scratch space: its bytes are compared with the
    // old ones there, and kept (as a latin1 string) only when they differ.
    let part: string | undefined;
    if (fragment !== undefined) {
      const enc = encodingSpace(fragment);
      const n = enc.write(fragment, 0, "utf8");
      if (exists) {
        // Unchanged objects (relists, resyncs, status writes that render the same) cost a
        // comparison and keep their block, and its gzip member, as they are.
        const old = block.parts ? block.parts[i]! : i;
        if (
          typeof old === "string"
            ? sameBytes(enc, n, old, 0, old.length)
            : sameBytes(enc, n, block.buf!, block.offsets[old]!, block.offsets[old + 1]!)
        ) {
          return;
        }
      }
      part = enc.toString("latin1", 0, n);
    }
    if (exists) {
      const parts = block.parts;
      const old = parts ? parts[i]! : i;
      family.series -= partLines(block, old);
      block.bytes -= partBytes(block, old);
      const thawed = parts ?? thaw(block);
      if (part === undefined) {
        block.keys.splice(i, 1);
        thawed.splice(i, 1);
        family.objects--;
      } else {
        thawed[i] = part;
        block.bytes += part.length;
        family.series += countLines(part);
      }
      this.touched(family, block);
      return;
    }
    if (part === undefined) return; // (not reached: checked above)
    const parts = thaw(block);
    block.keys.splice(i, 0, key);
    parts.splice(i, 0, part);
    block.bytes += part.length;
    family.series += countLines(part);
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
    if (held && held.slots !== families) this.reslot(held, families);
    const hints = held?.hints ?? new Array<Block | number | undefined>(2 * families.length).fill(undefined);
    for (let i = 0; i < families.length; i++) {
      const fragment = fragments[i];
      const family = this.families.get(families[i]!);
      // Nothing to remove where it had no series (or the family is not declared).
      if (!family || (fragment === undefined && hints[2 * i] === undefined)) {
        hints[2 * i] = undefined;
        continue;
      }
      this.setFragment(family, key, fragment, hints, i);
      if (fragment === undefined) hints[2 * i] = undefined;
    }
    if (held) {
      held.generation = res.generation;
    } else {
      held = { key, generation: res.generation, slots: families, hints };
      res.objects.set(id, held);
    }
  }

  /**
   * The object's families are given as another list than last time (a changed plan, or a caller
   * building its own): carry its hints over to the new positions, and take its fragments out of
   * families the new list does not name.
   */
  private reslot(held: Held, families: readonly string[]): void {
    const hints = new Array<Block | number | undefined>(2 * families.length).fill(undefined);
    held.slots.forEach((name, j) => {
      if (held.hints[2 * j] === undefined) return;
      const k = families.indexOf(name);
      if (k >= 0) {
        hints[2 * k] = held.hints[2 * j];
        hints[2 * k + 1] = held.hints[2 * j + 1];
        return;
      }
      const family = this.families.get(name);
      if (family) this.setFragment(family, held.key, undefined, held.hints, j);
    });
    held.slots = families;
    held.hints = hints;
  }

  delete(resourceId: string, ref: ObjectRef): void {
    const res = this.resources.get(resourceId);
    if (!res) return;
    const id = idKey(ref);
    const held = res.objects.get(id);
    if (!held) return;
    held.slots.forEach((name, i) => {
      if (held.hints[2 * i] === undefined) return;
      const family = this.families.get(name);
      if (family) this.setFragment(family, held.key, undefined, held.hints, i);
    });
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
    const out = {
      families: 0,
      blocks: 0,
      thawed: 0,
      cold: 0,
      keys: 0,
      bufBytes: 0,
      offsetBytes: 0,
      gzBytes: 0,
    };
    for (const family of this.families.values()) {
      out.families++;
      for (const b of family.blocks) {
        out.blocks++;
        if (b.parts) out.thawed++;
        if (b.buf === undefined) out.cold++;
        out.keys += b.keys.length;
        out.bufBytes += b.buf?.length ?? 0;
        out.offsetBytes += 8 * b.offsets.length;
        out.gzBytes += b.gz?.deflated.length ?? 0;
      }
    }
    let objects = 0;
    for (const r of this.resources.values()) objects += r.objects.size;
    return { ...out, objects, compressions: this.compressions, hintMisses: this.hintMisses };
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
    const at = performance.now() + delayMs;
    if (this.compactTimer !== undefined) {
      if (this.compactAt <= at + 1) return;
      clearTimeout(this.compactTimer);
    }
    this.compactAt = at;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = undefined;
      this.compact(COMPACT_SLICE_MS);
    }, delayMs);
    this.compactTimer.unref();
  }

  /**
   * Split oversized blocks, drop empty ones, freeze thawed ones and compress blocks unused for
   * `coolAfterMs`, for about `budgetMs` (Infinity: all of it); reschedules itself when work
   * remains. `coolAll` cools every frozen block now, whatever its age (tests, benchmarks).
   */
  compact(budgetMs = Infinity, coolAll = false): void {
    const started = performance.now();
    if (this.scrapes === 0) {
      for (const family of this.reshape) this.reshapeFamily(family);
      this.reshape.clear();
    }
    for (const [block, family] of this.dirty) {
      freeze(block, this.compressing);
      this.dirty.delete(block);
      this.used(block, family);
      if (performance.now() - started >= budgetMs) break;
    }
    // Least recently used first: stop at the first block that is still in use.
    for (const block of this.warm.keys()) {
      if (performance.now() - started >= budgetMs) break;
      if (!coolAll && performance.now() - block.usedAt < this.coolAfterMs) break;
      this.warm.delete(block);
      if (block.parts || block.buf === undefined || block.buf.length === 0) continue;
      block.gz ??= this.compress(block.buf);
      block.buf = undefined;
    }
    if (this.dirty.size > 0 || this.reshape.size > 0) {
      this.scheduleCompact(this.dirty.size > 0 ? 1 : COMPACT_DELAY_MS);
    } else if (this.warm.size > 0) {
      const oldest = this.warm.keys().next().value!;
      this.scheduleCompact(Math.max(1, oldest.usedAt + this.coolAfterMs - performance.now()));
    }
  }

  /**
   * Point the hints of the keys that `split` moved from `left` into `right` at their new place.
   * The initial list fills blocks in key order and splits each one as it grows, so without this
   * almost every object's first update would find its hint stale. Costs two Map lookups per
   * moved key, once per split.
   */
  private rehint(left: Block, right: Block): void {
    const keys = right.keys;
    let resourceId = "";
    let res: Resource | undefined;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j]!;
      const sep = key.lastIndexOf("\u0000");
      const rid = key.slice(sep + 1);
      if (rid !== resourceId) {
        resourceId = rid;
        res = this.resources.get(rid);
      }
      const hints = res?.objects.get(key.slice(0, sep))?.hints;
      if (!hints) continue;
      for (let h = 0; h < hints.length; h += 2) {
        if (hints[h] === left) {
          hints[h] = right;
          hints[h + 1] = j;
        }
      }
    }
  }

  private reshapeFamily(family: Family): void {
    const out: Block[] = [];
    for (const block of family.blocks) {
      if (block.keys.length === 0) {
        this.dirty.delete(block);
        this.warm.delete(block);
        continue;
      }
      const pending = [block];
      while (pending.length > 0) {
        const b = pending.shift()!;
        if (b.keys.length > BLOCK_MAX_KEYS || (b.bytes > BLOCK_MAX_BYTES && b.keys.length > 1)) {
          this.warmed(b, family);
          this.warm.delete(b);
          const right = split(b);
          this.rehint(b, right);
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
          let read: { gz: GzipPiece | undefined; buf: Bytes } | undefined;
          for (const key of block.keys.slice()) {
            const i = lowerBound(block.keys, key);
            if (block.keys[i] !== key) continue;
            if (block.parts) {
              yield partText(block, block.parts[i]!);
              continue;
            }
            // A cold block is inflated once per visit (again if it changed in between).
            if (block.buf !== undefined) read = undefined;
            else if (read?.gz !== block.gz) read = { gz: block.gz, buf: bytesOf(block) };
            yield partText(block, i, read?.buf ?? block.buf);
          }
        }
      }
      if (format === "openmetrics") yield OPENMETRICS_EOF;
    } finally {
      this.scrapes--;
    }
  }

  /**
   * The uncompressed exposition for serving: ready Buffers, and the compressed pieces of cold
   * blocks, which the caller inflates (inflatePiece, inflatePieceSync) and writes in their place.
   * A thawed block is frozen when reached. Blocks are never split or dropped while a walk is in
   * progress, so each object is written once per family.
   */
  *textPieces(format: ExpositionFormat): Generator<TextPiece> {
    this.scrapes++;
    try {
      for (const family of this.ordered()) {
        if (family.objects === 0) continue;
        yield family.headers[format];
        for (const block of family.blocks) {
          if (block.parts) this.freezeNow(block, family);
          if (block.buf !== undefined) {
            if (block.buf.length > 0) yield ownBuffer(block.buf);
          } else {
            yield block.gz!;
          }
        }
      }
      if (format === "openmetrics") yield EOF_BYTES;
    } finally {
      this.scrapes--;
      if (this.scrapes === 0 && this.reshape.size > 0) this.scheduleCompact();
    }
  }

  private freezeNow(block: Block, family: Family): void {
    freeze(block, this.compressing);
    this.dirty.delete(block);
    this.used(block, family);
  }

  /**
   * The exposition as ready Buffers, one per block: a thawed block is frozen when reached, a
   * cold one inflated. With `gzip`, the Buffers form one gzip stream of exactly the uncompressed
   * bytes, made of each block's cached compressed piece. Blocks are never split or dropped while
   * a walk is in progress, so each object is written once per family.
   */
  *chunks(format: ExpositionFormat, gzip = false): Generator<Buffer> {
    if (!gzip) {
      for (const p of this.textPieces(format)) yield Buffer.isBuffer(p) ? p : inflatePieceSync(p);
      return;
    }
    this.scrapes++;
    const trailer = new GzipTrailer();
    const piece = (p: GzipPiece): Buffer => {
      trailer.add(p);
      return pieceBytes(p);
    };
    try {
      yield GZIP_HEADER;
      for (const family of this.ordered()) {
        if (family.objects === 0) continue;
        yield piece(gzipHeader(family, format));
        for (const block of family.blocks) {
          if (block.parts) this.freezeNow(block, family);
          if (block.buf?.length === 0) continue;
          yield piece((block.gz ??= this.compress(block.buf!)));
        }
      }
      if (format === "openmetrics") yield piece((this.eofGz ??= gzipPiece(EOF_BYTES, GZIP_LEVEL)));
      yield trailer.end();
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
