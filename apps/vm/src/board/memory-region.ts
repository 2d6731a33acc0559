import type { BusDevice } from '@tsvirt/core-bus';

/**
 * A node of the guest's physical memory map, after QEMU's MemoryRegion
 * (system/memory.c): a container of subregions, a trapped MMIO device, host
 * memory the VMM can give KVM as a memslot (RAM, an mmapped BAR), or an alias
 * showing a window of another region. Subregions may overlap; the rendering
 * (`renderFlatView`) decides who is visible where, by priority.
 */
export type MemoryRegionKind =
  | { type: 'container' }
  | { type: 'io'; device: BusDevice }
  | { type: 'ram'; hva: number }
  | { type: 'alias'; target: MemoryRegion; offset: number };

/** Where a region sits in its container. */
interface Placement {
  container: MemoryRegion;
  addr: number;
  priority: number;
}

export class MemoryRegion {
  /** Render order: highest priority first; among equal priorities the most recently added first. */
  private readonly children: MemoryRegion[] = [];
  private placement: Placement | undefined;
  /** memory_region_set_enabled(): a disabled region and everything under it is not rendered. */
  enabled = true;

  private constructor(
    readonly name: string,
    readonly size: number,
    readonly kind: MemoryRegionKind,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`${name}: bad size ${size}`);
  }

  /** memory_region_init(): a container, seen only through its subregions. */
  static container(name: string, size: number): MemoryRegion {
    return new MemoryRegion(name, size, { type: 'container' });
  }

  /** memory_region_init_io(): every access trapped to `device` (offset relative to the region). */
  static io(name: string, size: number, device: BusDevice): MemoryRegion {
    return new MemoryRegion(name, size, { type: 'io', device });
  }

  /** memory_region_init_ram_ptr() / ram_device: host memory at `hva`. */
  static ram(name: string, size: number, hva: number): MemoryRegion {
    return new MemoryRegion(name, size, { type: 'ram', hva });
  }

  /** memory_region_init_alias(): `size` bytes of `target` from `offset`. */
  static alias(name: string, target: MemoryRegion, offset: number, size: number): MemoryRegion {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > target.size)
      throw new RangeError(`${name}: alias [${offset}, +${size}) runs outside ${target.name}`);
    return new MemoryRegion(name, size, { type: 'alias', target, offset });
  }

  get subregions(): readonly MemoryRegion[] {
    return this.children;
  }

  /** The container this region is mapped in, its address there and its priority; undefined when unmapped. */
  get mapping(): Readonly<Placement> | undefined {
    return this.placement;
  }

  /**
   * memory_region_add_subregion_overlap(): map `sub` at `addr` with
   * `priority`. It goes before the first sibling of equal or lower priority
   * (memory_region_update_container_subregions), so a higher priority wins
   * and, between equals, the one added last wins.
   */
  addSubregion(addr: number, sub: MemoryRegion, priority = 0): void {
    if (this.kind.type !== 'container') throw new TypeError(`${this.name} is not a container`);
    if (sub.placement !== undefined)
      throw new Error(`${sub.name} is already mapped in ${sub.placement.container.name}`);
    if (sub === this) throw new Error(`${sub.name} cannot contain itself`);
    if (!Number.isSafeInteger(addr) || addr < 0 || addr + sub.size > this.size)
      throw new RangeError(`${sub.name} at 0x${addr.toString(16)} does not fit in ${this.name}`);
    if (!Number.isInteger(priority)) throw new RangeError(`${sub.name}: bad priority ${priority}`);
    sub.placement = { container: this, addr, priority };
    const at = this.children.findIndex((o) => priority >= o.placement!.priority);
    if (at < 0) this.children.push(sub);
    else this.children.splice(at, 0, sub);
  }

  /** memory_region_del_subregion(). */
  removeSubregion(sub: MemoryRegion): void {
    const i = this.children.indexOf(sub);
    if (i < 0) throw new Error(`${sub.name} is not mapped in ${this.name}`);
    this.children.splice(i, 1);
    sub.placement = undefined;
  }
}

/** One visible piece of a terminal (io or ram) region: [addr, addr + len) shows the region from `offset`. */
export interface FlatRange {
  readonly addr: number;
  readonly len: number;
  readonly region: MemoryRegion;
  readonly offset: number;
}

/**
 * QEMU's generate_memory_topology(): render the tree under `root` into the
 * sorted, non-overlapping ranges a guest access actually reaches. Each region
 * is clipped to its container; subregions are rendered in priority order
 * and each fills only what no earlier one claimed (render_memory_region,
 * flatview_insert); an alias renders its target through its window; adjacent
 * pieces of one region are merged (flatview_simplify). Containers claim
 * nothing themselves: where nothing is mapped, nothing answers.
 */
export function renderFlatView(root: MemoryRegion): FlatRange[] {
  const view: FlatRange[] = [];
  render(view, root, 0, 0, root.size);
  view.sort((a, b) => a.addr - b.addr);
  return simplify(view);
}

function render(view: FlatRange[], mr: MemoryRegion, base: number, clipStart: number, clipEnd: number): void {
  if (!mr.enabled) return;
  const start = Math.max(base, clipStart);
  const end = Math.min(base + mr.size, clipEnd);
  if (start >= end) return;
  const kind = mr.kind;
  if (kind.type === 'alias') {
    render(view, kind.target, base - kind.offset, start, end);
    return;
  }
  for (const sub of mr.subregions) render(view, sub, base + sub.mapping!.addr, start, end);
  if (kind.type === 'io' || kind.type === 'ram') fillGaps(view, mr, base, start, end);
}

/** flatview_insert of [start, end): only the parts no range in `view` covers yet. */
function fillGaps(view: FlatRange[], mr: MemoryRegion, base: number, start: number, end: number): void {
  const taken = view.filter((r) => r.addr < end && r.addr + r.len > start).sort((a, b) => a.addr - b.addr);
  let at = start;
  for (const r of taken) {
    if (r.addr > at) view.push({ addr: at, len: r.addr - at, region: mr, offset: at - base });
    at = Math.max(at, r.addr + r.len);
  }
  if (at < end) view.push({ addr: at, len: end - at, region: mr, offset: at - base });
}

function simplify(view: FlatRange[]): FlatRange[] {
  const out: FlatRange[] = [];
  for (const r of view) {
    const prev = out[out.length - 1];
    if (
      prev &&
      prev.region === r.region &&
      prev.addr + prev.len === r.addr &&
      prev.offset + prev.len === r.offset
    ) {
      out[out.length - 1] = { ...prev, len: prev.len + r.len };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** flatrange_equal(): the same region, from the same offset, at the same place. */
function sameRange(a: FlatRange, b: FlatRange): boolean {
  return a.addr === b.addr && a.len === b.len && a.region === b.region && a.offset === b.offset;
}

/**
 * address_space_update_topology_pass(): walk two sorted flat views together;
 * a range only in `prev` is removed, one only in `next` added, and one in
 * both is kept (paired, so what it was applied as carries over).
 */
export function diffFlatViews(
  prev: readonly FlatRange[],
  next: readonly FlatRange[],
): { removed: FlatRange[]; added: FlatRange[]; kept: [FlatRange, FlatRange][] } {
  const removed: FlatRange[] = [];
  const added: FlatRange[] = [];
  const kept: [FlatRange, FlatRange][] = [];
  let i = 0;
  let j = 0;
  while (i < prev.length || j < next.length) {
    const a = prev[i];
    const b = next[j];
    if (a !== undefined && (b === undefined || a.addr < b.addr || (a.addr === b.addr && !sameRange(a, b)))) {
      removed.push(a);
      i++;
    } else if (a !== undefined && b !== undefined && sameRange(a, b)) {
      kept.push([a, b]);
      i++;
      j++;
    } else {
      added.push(b!);
      j++;
    }
  }
  return { removed, added, kept };
}
