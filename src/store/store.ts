import { familyHeader, OPENMETRICS_EOF, type ExpositionFormat } from "../exposition/format.js";

/**
 * Rendered series, kept per object and family (never the objects themselves). A scrape walks the
 * families in name order and, within each, the objects in (namespace, name) order, concatenating
 * fragments rendered at event time: the same objects always give the same bytes (SPEC §6).
 */

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

interface Family {
  readonly name: string;
  readonly headers: Record<ExpositionFormat, string>;
  /** Object key → that object's series lines for this family. */
  readonly fragments: Map<string, string>;
  /** Keys of `fragments`, kept sorted so a scrape never sorts. */
  readonly order: string[];
  series: number;
}

interface Held {
  families: string[];
  generation: number;
}

interface Resource {
  readonly objects: Map<string, Held>;
  generation: number;
  relisting: boolean;
}

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

export interface FamilyDefinition {
  readonly name: string;
  readonly help: string;
}

export class MetricStore {
  private readonly families = new Map<string, Family>();
  private sortedFamilies: Family[] | undefined;
  private readonly resources = new Map<string, Resource>();

  /**
   * Declare the families that may be served. Fragments of families no longer declared are
   * dropped; a family whose help changed keeps its fragments under the new header.
   */
  setFamilies(defs: Iterable<FamilyDefinition>): void {
    const next = new Map<string, FamilyDefinition>();
    for (const d of defs) next.set(d.name, d);
    for (const name of this.families.keys()) {
      if (!next.has(name)) this.families.delete(name);
    }
    for (const d of next.values()) {
      const prev = this.families.get(d.name);
      const headers = {
        text: familyHeader(d.name, d.help, "text"),
        openmetrics: familyHeader(d.name, d.help, "openmetrics"),
      };
      if (prev) {
        if (prev.headers.text !== headers.text) this.families.set(d.name, { ...prev, headers });
      } else {
        this.families.set(d.name, { name: d.name, headers, fragments: new Map(), order: [], series: 0 });
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

  private setFragment(family: Family, key: string, fragment: string | undefined): void {
    const prev = family.fragments.get(key);
    if (prev === fragment) return;
    if (prev !== undefined) family.series -= countLines(prev);
    if (fragment === undefined) {
      family.fragments.delete(key);
      const i = lowerBound(family.order, key);
      if (family.order[i] === key) family.order.splice(i, 1);
      return;
    }
    family.series += countLines(fragment);
    if (prev === undefined) family.order.splice(lowerBound(family.order, key), 0, key);
    family.fragments.set(key, fragment);
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
    const key = `${id}\u0000${resourceId}`;
    const held = res.objects.get(id);
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
      res.objects.set(id, { families: now, generation: res.generation });
    }
  }

  delete(resourceId: string, ref: ObjectRef): void {
    const res = this.resources.get(resourceId);
    if (!res) return;
    const id = idKey(ref);
    const held = res.objects.get(id);
    if (!held) return;
    const key = `${id}\u0000${resourceId}`;
    for (const name of held.families) {
      const family = this.families.get(name);
      if (family) this.setFragment(family, key, undefined);
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

  private ordered(): Family[] {
    this.sortedFamilies ??= [...this.families.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    return this.sortedFamilies;
  }

  /**
   * The exposition as a sequence of pieces (headers and per-object fragments). Consumers batch
   * them into chunks; the iteration holds no lock, so it sees a consistent order per family.
   */
  *exposition(format: ExpositionFormat): Generator<string> {
    for (const family of this.ordered()) {
      if (family.order.length === 0) continue;
      yield family.headers[format];
      // Snapshot the order so concurrent updates between chunks cannot skip or repeat an object.
      const keys = family.order.slice();
      for (const key of keys) {
        const fragment = family.fragments.get(key);
        if (fragment !== undefined) yield fragment;
      }
    }
    if (format === "openmetrics") yield OPENMETRICS_EOF;
  }

  /** The whole exposition as one string (offline render, tests). */
  render(format: ExpositionFormat): string {
    let out = "";
    for (const piece of this.exposition(format)) out += piece;
    return out;
  }
}
