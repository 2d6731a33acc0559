import type { BusDevice } from '@tsvirt/core-bus';

const SPURIOUS = 1023;
const IDLE_PRIORITY = 0x100;

/** Per-CPU state of the banked interrupts (SGIs 0-15, PPIs 16-31) and of the CPU interface. */
class GicCpu {
  readonly enabled = new Uint8Array(32);
  readonly level = new Uint8Array(32);
  readonly pending = new Uint8Array(32);
  readonly active = new Uint8Array(32);
  readonly priority = new Uint8Array(32);
  /** GICC_CTLR.EnableGrp0 (the only group here). */
  ctlr = 0;
  /** GICC_PMR: interrupts of a priority value below it are signalled. */
  pmr = 0;
  bpr = 2;
  /** The IRQ output as last driven. */
  irqOut = false;
  /** The CPU that sent each pending SGI (GICv2 reports it in IAR[12:10]). */
  readonly sgiSource = new Uint8Array(16);
}

/**
 * A GICv2 (ARM IHI 0048) as a user-space irqchip, as QEMU's arm_gic with
 * kernel_irqchip=off: the distributor (enable, pending, active, priority,
 * targets, config, software-generated interrupts) and one CPU interface per
 * vCPU (PMR, IAR acknowledge, EOIR, running priority), one security state,
 * no groups beyond group 0, no priority grouping (BPR is stored only).
 * Level-sensitive lines stay pending while high. Each CPU interface drives
 * its vCPU's IRQ input through `cpuIrq(cpu, level)`.
 */
export class GicV2 {
  /** The distributor's MMIO window. */
  readonly dist: BusDevice;
  /** The CPU interface's MMIO window (banked by the accessing CPU, which `currentCpu` says). */
  readonly cpuIf: BusDevice;
  /** The vCPU whose accesses the CPU interface and banked registers serve now. */
  currentCpu = 0;
  private dctlr = 0;
  private readonly cpus: GicCpu[];
  private readonly spiEnabled: Uint8Array;
  private readonly spiLevel: Uint8Array;
  private readonly spiPending: Uint8Array;
  private readonly spiActive: Uint8Array;
  private readonly spiPriority: Uint8Array;
  private readonly spiTargets: Uint8Array;
  private readonly spiEdge: Uint8Array;

  constructor(
    /** Interrupt lines, SGIs and PPIs included (a multiple of 32). */
    readonly nrIrqs: number,
    ncpus: number,
    private readonly cpuIrq: (cpu: number, level: boolean) => void,
  ) {
    this.cpus = Array.from({ length: ncpus }, () => new GicCpu());
    const n = nrIrqs - 32;
    this.spiEnabled = new Uint8Array(n);
    this.spiLevel = new Uint8Array(n);
    this.spiPending = new Uint8Array(n);
    this.spiActive = new Uint8Array(n);
    this.spiPriority = new Uint8Array(n);
    this.spiTargets = new Uint8Array(n);
    this.spiEdge = new Uint8Array(n);
    this.dist = {
      read: (off, data) => put(data, off, this.distRead(off & ~3)),
      write: (off, data) => this.distWrite(off, data),
    };
    this.cpuIf = {
      read: (off, data) => put(data, off, this.cpuRead(off & ~3)),
      write: (off, data) => this.cpuWrite(off & ~3, get(data)),
    };
  }

  /** An SPI input line (n = INTID - 32) changed level. */
  setSpi(n: number, level: boolean): void {
    if (n < 0 || n >= this.spiLevel.length) return;
    const was = this.spiLevel[n] !== 0;
    this.spiLevel[n] = level ? 1 : 0;
    if (level && !was && this.spiEdge[n]) this.spiPending[n] = 1;
    this.update();
  }

  /** A CPU's PPI input (INTID 16-31), e.g. its timer. */
  setPpi(cpu: number, intid: number, level: boolean): void {
    const c = this.cpus[cpu];
    if (c === undefined || intid < 16 || intid >= 32) return;
    c.level[intid] = level ? 1 : 0;
    this.update();
  }

  // ---- state helpers ----

  private isPending(c: GicCpu, id: number): boolean {
    if (id < 32) return c.pending[id] !== 0 || c.level[id] !== 0;
    const n = id - 32;
    return this.spiPending[n] !== 0 || (this.spiEdge[n] === 0 && this.spiLevel[n] !== 0);
  }

  private isEnabled(c: GicCpu, id: number): boolean {
    return id < 32 ? c.enabled[id] !== 0 : this.spiEnabled[id - 32] !== 0;
  }

  private isActive(c: GicCpu, id: number): boolean {
    return id < 32 ? c.active[id] !== 0 : this.spiActive[id - 32] !== 0;
  }

  private prio(c: GicCpu, id: number): number {
    return id < 32 ? c.priority[id]! : this.spiPriority[id - 32]!;
  }

  private targets(cpuIdx: number, id: number): boolean {
    return id < 32 || (this.spiTargets[id - 32]! & (1 << cpuIdx)) !== 0;
  }

  /** The running priority: the highest (lowest value) of the CPU's active interrupts. */
  private running(ci: number): number {
    const c = this.cpus[ci]!;
    let best = IDLE_PRIORITY;
    for (let id = 0; id < this.nrIrqs; id++)
      if (this.isActive(c, id) && this.targets(ci, id) && this.prio(c, id) < best) best = this.prio(c, id);
    return best;
  }

  /** The highest-priority pending, enabled, inactive interrupt for a CPU, or SPURIOUS. */
  private highest(ci: number): number {
    const c = this.cpus[ci]!;
    if ((this.dctlr & 1) === 0) return SPURIOUS;
    let best = SPURIOUS;
    let bestPrio = IDLE_PRIORITY;
    for (let id = 0; id < this.nrIrqs; id++) {
      if (!this.isEnabled(c, id) || !this.isPending(c, id) || this.isActive(c, id) || !this.targets(ci, id))
        continue;
      const p = this.prio(c, id);
      if (p < bestPrio) {
        best = id;
        bestPrio = p;
      }
    }
    return best;
  }

  /** gic_update(): recompute each CPU's IRQ output. */
  private update(): void {
    for (let ci = 0; ci < this.cpus.length; ci++) {
      const c = this.cpus[ci]!;
      const id = this.highest(ci);
      const level =
        (c.ctlr & 1) !== 0 &&
        id !== SPURIOUS &&
        this.prio(c, id) < c.pmr &&
        this.prio(c, id) < this.running(ci);
      if (level !== c.irqOut) {
        c.irqOut = level;
        this.cpuIrq(ci, level);
      }
    }
  }

  // ---- distributor ----

  private bitRange(base: number, off: number): number | undefined {
    return off >= base && off < base + this.nrIrqs / 8 ? (off - base) * 8 : undefined;
  }

  private distRead(off: number): number {
    const c = this.cpus[this.currentCpu]!;
    if (off === 0x000) return this.dctlr;
    if (off === 0x004) return (this.nrIrqs / 32 - 1) | ((this.cpus.length - 1) << 5);
    if (off === 0x008) return 0x0200_043b;
    for (const [base, get] of [
      [0x100, (id: number) => this.isEnabled(c, id)],
      [0x180, (id: number) => this.isEnabled(c, id)],
      [0x200, (id: number) => this.isPending(c, id)],
      [0x280, (id: number) => this.isPending(c, id)],
      [0x300, (id: number) => this.isActive(c, id)],
      [0x380, (id: number) => this.isActive(c, id)],
    ] as const) {
      const first = this.bitRange(base, off);
      if (first === undefined) continue;
      let v = 0;
      for (let i = 0; i < 32; i++) if (first + i < this.nrIrqs && get(first + i)) v |= 1 << i;
      return v >>> 0;
    }
    if (off >= 0x400 && off < 0x400 + this.nrIrqs) return this.bytes(off - 0x400, (id) => this.prio(c, id));
    if (off >= 0x800 && off < 0x800 + this.nrIrqs)
      return this.bytes(off - 0x800, (id) => (id < 32 ? 1 << this.currentCpu : this.spiTargets[id - 32]!));
    if (off >= 0xc00 && off < 0xc00 + this.nrIrqs / 4) {
      const first = (off - 0xc00) * 4;
      let v = 0;
      for (let i = 0; i < 16; i++) {
        const id = first + i;
        // SGIs are edge-triggered, PPIs level here; SPIs as configured.
        const edge = id < 16 || (id >= 32 && this.spiEdge[id - 32] === 1);
        if (edge) v |= 2 << (2 * i);
      }
      return v >>> 0;
    }
    if (off >= 0xfe0 && off < 0x1000)
      return [0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1][(off - 0xfe0) >> 2]!;
    return 0;
  }

  private bytes(first: number, f: (id: number) => number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) if (first + i < this.nrIrqs) v |= (f(first + i) & 0xff) << (8 * i);
    return v >>> 0;
  }

  private distWrite(offset: number, data: Uint8Array): void {
    const c = this.cpus[this.currentCpu]!;
    // Byte-accessible registers: priority and targets.
    if (offset >= 0x400 && offset < 0x400 + this.nrIrqs) {
      for (let i = 0; i < data.length; i++) {
        const id = offset - 0x400 + i;
        if (id >= this.nrIrqs) break;
        if (id < 32) c.priority[id] = data[i]!;
        else this.spiPriority[id - 32] = data[i]!;
      }
      this.update();
      return;
    }
    if (offset >= 0x800 && offset < 0x800 + this.nrIrqs) {
      for (let i = 0; i < data.length; i++) {
        const id = offset - 0x800 + i;
        if (id >= 32 && id < this.nrIrqs) this.spiTargets[id - 32] = data[i]! & ((1 << this.cpus.length) - 1);
      }
      this.update();
      return;
    }
    const off = offset & ~3;
    const v = get(data) << (8 * (offset & 3));
    if (off === 0x000) this.dctlr = v & 1;
    const each = (base: number, fn: (id: number) => void) => {
      const first = this.bitRange(base, off);
      if (first === undefined) return;
      for (let i = 0; i < 32; i++) if ((v >>> i) & 1 && first + i < this.nrIrqs) fn(first + i);
    };
    // Set-enable/clear-enable, set-pending/clear-pending, set-active/clear-active pairs.
    const banks: [number, Uint8Array, Uint8Array, number][] = [
      [0x100, c.enabled, this.spiEnabled, 1],
      [0x180, c.enabled, this.spiEnabled, 0],
      [0x200, c.pending, this.spiPending, 1],
      [0x280, c.pending, this.spiPending, 0],
      [0x300, c.active, this.spiActive, 1],
      [0x380, c.active, this.spiActive, 0],
    ];
    for (const [base, banked, spi, value] of banks)
      each(base, (id) => {
        if (id < 32) banked[id] = value;
        else spi[id - 32] = value;
      });
    if (off >= 0xc00 && off < 0xc00 + this.nrIrqs / 4) {
      const first = (off - 0xc00) * 4;
      for (let i = 0; i < 16; i++) {
        const id = first + i;
        if (id >= 32 && id < this.nrIrqs) this.spiEdge[id - 32] = (v >>> (2 * i + 1)) & 1;
      }
    }
    if (off === 0xf00) this.sgi(v);
    this.update();
  }

  /** GICD_SGIR: TargetListFilter (25:24), CPUTargetList (23:16), SGIINTID (3:0). */
  private sgi(v: number): void {
    const id = v & 0xf;
    const filter = (v >>> 24) & 3;
    const list = (v >>> 16) & 0xff;
    this.cpus.forEach((c, i) => {
      const hit =
        filter === 0 ? (list & (1 << i)) !== 0 : filter === 1 ? i !== this.currentCpu : i === this.currentCpu;
      if (!hit) return;
      c.pending[id] = 1;
      c.sgiSource[id] = this.currentCpu;
    });
  }

  // ---- CPU interface ----

  private cpuRead(off: number): number {
    const ci = this.currentCpu;
    const c = this.cpus[ci]!;
    switch (off) {
      case 0x00:
        return c.ctlr;
      case 0x04:
        return c.pmr;
      case 0x08:
        return c.bpr;
      case 0x0c:
        return this.acknowledge(ci);
      case 0x14:
        return this.running(ci) & 0xff;
      case 0x18: {
        const id = this.highest(ci);
        return id < 16 ? id | (c.sgiSource[id]! << 10) : id;
      }
      case 0xfc:
        return 0x0202_043b;
      default:
        return 0;
    }
  }

  /** GICC_IAR: the highest-priority pending interrupt becomes active (a level line stays pending while high). */
  private acknowledge(ci: number): number {
    const c = this.cpus[ci]!;
    const id = this.highest(ci);
    if (id === SPURIOUS || this.prio(c, id) >= c.pmr || this.prio(c, id) >= this.running(ci)) return SPURIOUS;
    let value = id;
    if (id < 32) {
      c.pending[id] = 0;
      c.active[id] = 1;
      if (id < 16) value |= c.sgiSource[id]! << 10;
    } else {
      this.spiPending[id - 32] = 0;
      this.spiActive[id - 32] = 1;
    }
    this.update();
    return value;
  }

  private cpuWrite(off: number, v: number): void {
    const ci = this.currentCpu;
    const c = this.cpus[ci]!;
    switch (off) {
      case 0x00:
        c.ctlr = v & 1;
        break;
      case 0x04:
        c.pmr = v & 0xff;
        break;
      case 0x08:
        c.bpr = v & 7;
        break;
      case 0x10: {
        // GICC_EOIR: deactivate (priority drop and deactivation together, EOImode 0).
        const id = v & 0x3ff;
        if (id < 32) c.active[id] = 0;
        else if (id < this.nrIrqs) this.spiActive[id - 32] = 0;
        break;
      }
    }
    this.update();
  }
}

function get(data: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < data.length; i++) v |= data[i]! << (8 * i);
  return v >>> 0;
}

function put(data: Uint8Array, off: number, v: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (v >>> (8 * ((off & 3) + i))) & 0xff;
}
