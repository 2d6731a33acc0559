import { type BusDevice, fail } from '@tsvirt/core-bus';

// APLIC register offsets (AIA spec, APLIC chapter) and field masks.
/** domaincfg. */
export const APLIC_DOMAINCFG = 0x0000;
/** domaincfg read-only bits 31:24 read 0x80. */
export const APLIC_DOMAINCFG_RDONLY = 0x8000_0000;
/** domaincfg.IE: interrupts enabled. */
export const APLIC_DOMAINCFG_IE = 1 << 8;
/** domaincfg.DM: MSI delivery mode (the only mode KVM's APLIC has). */
export const APLIC_DOMAINCFG_DM = 1 << 2;
/** sourcecfg[1]; sourcecfg[i] is at 0x4 * i. */
export const APLIC_SOURCECFG_BASE = 0x0004;
/** sourcecfg.D: delegated to a child domain. */
export const APLIC_SOURCECFG_D = 1 << 10;
/** sourcecfg.SM mask. */
export const APLIC_SOURCECFG_SM_MASK = 0x7;
/** SM: inactive. */
export const APLIC_SOURCECFG_SM_INACTIVE = 0;
/** SM: detached. */
export const APLIC_SOURCECFG_SM_DETACHED = 1;
/** SM: rising edge. */
export const APLIC_SOURCECFG_SM_EDGE_RISE = 4;
/** SM: falling edge. */
export const APLIC_SOURCECFG_SM_EDGE_FALL = 5;
/** SM: level high. */
export const APLIC_SOURCECFG_SM_LEVEL_HIGH = 6;
/** SM: level low. */
export const APLIC_SOURCECFG_SM_LEVEL_LOW = 7;
/** setip[0]. */
export const APLIC_SETIP_BASE = 0x1c00;
/** setipnum. */
export const APLIC_SETIPNUM = 0x1cdc;
/** in_clrip[0]. */
export const APLIC_CLRIP_BASE = 0x1d00;
/** clripnum. */
export const APLIC_CLRIPNUM = 0x1ddc;
/** setie[0]. */
export const APLIC_SETIE_BASE = 0x1e00;
/** setienum. */
export const APLIC_SETIENUM = 0x1edc;
/** clrie[0]. */
export const APLIC_CLRIE_BASE = 0x1f00;
/** clrienum. */
export const APLIC_CLRIENUM = 0x1fdc;
/** setipnum_le. */
export const APLIC_SETIPNUM_LE = 0x2000;
/** setipnum_be. */
export const APLIC_SETIPNUM_BE = 0x2004;
/** genmsi. */
export const APLIC_GENMSI = 0x3000;
/** target[1]; target[i] is at 0x3000 + 0x4 * i. */
export const APLIC_TARGET_BASE = 0x3004;
/** target: hart index, bits 31:18. */
export const APLIC_TARGET_HART_IDX_SHIFT = 18;
/** Hart index mask (after the shift). */
export const APLIC_TARGET_HART_IDX_MASK = 0x3fff;
/** target: guest index, bits 17:12. */
export const APLIC_TARGET_GUEST_IDX_SHIFT = 12;
/** Guest index mask (after the shift). */
export const APLIC_TARGET_GUEST_IDX_MASK = 0x3f;
/** target: EIID, bits 10:0. */
export const APLIC_TARGET_EIID_MASK = 0x7ff;

const STATE_PENDING = 1;
const STATE_ENABLED = 2;
const STATE_INPUT = 4;
const STATE_ENPEND = STATE_PENDING | STATE_ENABLED;

/** Where an APLIC sends an MSI: (hart index, guest index, EIID), as kvm_riscv_aia_inject_msi_by_id() takes it. */
export type AplicMsiSink = (hartIndex: number, guestIndex: number, eiid: number) => void;

/**
 * KVM's APLIC (arch/riscv/kvm/aia_aplic.c): one domain in MSI delivery
 * mode. A wired source that becomes pending while enabled (and
 * domaincfg.IE is on) is forwarded as an MSI to its target and stops being
 * pending; a level source still asserted can be made pending again through
 * setipnum, which is how Linux retriggers it. Register accesses come from
 * the guest (its MMIO page, on the VM's MMIO bus) or from user space
 * (KVM_DEV_RISCV_AIA_GRP_APLIC, for save and restore).
 */
export class Aplic implements BusDevice {
  /** domaincfg's writable part (IE). */
  domaincfg = 0;
  /** genmsi as last written (guest index cleared). */
  genmsi = 0;
  /** Sources + 1 (source 0 does not exist). */
  readonly nrIrqs: number;
  /** Words of the setip/setie arrays. */
  readonly nrWords: number;
  /** sourcecfg per source. */
  readonly sourcecfg: Uint32Array;
  /** target per source. */
  readonly target: Uint32Array;
  /** PENDING / ENABLED / INPUT per source. */
  readonly state: Uint8Array;
  /** MSIs the APLIC has sent. */
  msisSent = 0;

  constructor(
    /** Wired sources (1..nrSources). */
    nrSources: number,
    /** Where MSIs go. */
    private readonly sink: AplicMsiSink,
  ) {
    this.nrIrqs = nrSources + 1;
    this.nrWords = Math.ceil(this.nrIrqs / 32);
    this.sourcecfg = new Uint32Array(this.nrIrqs);
    this.target = new Uint32Array(this.nrIrqs);
    this.state = new Uint8Array(this.nrIrqs);
  }

  /**
   * kvm_riscv_aia_aplic_inject(): a wired source's input changes. Each
   * source mode decides whether it becomes pending; enabled and pending
   * with IE on sends the MSI. ENODEV for source 0 or past the sources.
   */
  inject(source: number, level: boolean): void {
    if (source <= 0 || source >= this.nrIrqs) fail('ENODEV', `APLIC has no source ${source}`);
    const cfg = this.sourcecfg[source]!;
    if (cfg & APLIC_SOURCECFG_D) return;
    let st = this.state[source]!;
    const pending = (st & STATE_PENDING) !== 0;
    const input = (st & STATE_INPUT) !== 0;
    switch (cfg & APLIC_SOURCECFG_SM_MASK) {
      case APLIC_SOURCECFG_SM_EDGE_RISE:
        if (level && !input && !pending) st |= STATE_PENDING;
        break;
      case APLIC_SOURCECFG_SM_EDGE_FALL:
        if (!level && input && !pending) st |= STATE_PENDING;
        break;
      case APLIC_SOURCECFG_SM_LEVEL_HIGH:
        if (level && !pending) st |= STATE_PENDING;
        break;
      case APLIC_SOURCECFG_SM_LEVEL_LOW:
        if (!level && !pending) st |= STATE_PENDING;
        break;
    }
    st = level ? st | STATE_INPUT : st & ~STATE_INPUT;
    this.state[source] = st;
    if ((this.domaincfg & APLIC_DOMAINCFG_IE) !== 0 && (st & STATE_ENPEND) === STATE_ENPEND) {
      this.state[source] = st & ~STATE_PENDING;
      this.sendMsi(source);
    }
  }

  private sendMsi(source: number): void {
    const t = this.target[source]!;
    this.msisSent++;
    this.sink(
      (t >>> APLIC_TARGET_HART_IDX_SHIFT) & APLIC_TARGET_HART_IDX_MASK,
      (t >>> APLIC_TARGET_GUEST_IDX_SHIFT) & APLIC_TARGET_GUEST_IDX_MASK,
      t & APLIC_TARGET_EIID_MASK,
    );
  }

  /** aplic_update_irq_range(): send every enabled-and-pending source, with IE on. */
  private update(): void {
    if ((this.domaincfg & APLIC_DOMAINCFG_IE) === 0) return;
    for (let irq = 1; irq < this.nrIrqs; irq++) {
      const st = this.state[irq]!;
      if ((st & STATE_ENPEND) !== STATE_ENPEND) continue;
      this.state[irq] = st & ~STATE_PENDING;
      this.sendMsi(irq);
    }
  }

  private inRange(off: number, base: number, n: number): boolean {
    return off >= base && off < base + n * 4;
  }

  /** aplic_mmio_read_offset(): EOPNOTSUPP if not 4-byte aligned, ENODEV for no register. */
  readOffset(off: number): number {
    if ((off & 3) !== 0) fail('EOPNOTSUPP', `APLIC offset 0x${off.toString(16)} is not aligned`);
    if (off === APLIC_DOMAINCFG) return (APLIC_DOMAINCFG_RDONLY | this.domaincfg | APLIC_DOMAINCFG_DM) >>> 0;
    if (this.inRange(off, APLIC_SOURCECFG_BASE, this.nrIrqs - 1))
      return this.sourcecfg[((off - APLIC_SOURCECFG_BASE) >> 2) + 1]!;
    if (this.inRange(off, APLIC_SETIP_BASE, this.nrWords))
      return this.word((off - APLIC_SETIP_BASE) >> 2, STATE_PENDING);
    if (this.inRange(off, APLIC_CLRIP_BASE, this.nrWords))
      return this.word((off - APLIC_CLRIP_BASE) >> 2, STATE_INPUT);
    if (this.inRange(off, APLIC_SETIE_BASE, this.nrWords))
      return this.word((off - APLIC_SETIE_BASE) >> 2, STATE_ENABLED);
    if (this.inRange(off, APLIC_CLRIE_BASE, this.nrWords)) return 0;
    if (
      off === APLIC_SETIPNUM ||
      off === APLIC_CLRIPNUM ||
      off === APLIC_SETIENUM ||
      off === APLIC_CLRIENUM ||
      off === APLIC_SETIPNUM_LE ||
      off === APLIC_SETIPNUM_BE
    )
      return 0;
    if (off === APLIC_GENMSI) return this.genmsi;
    if (this.inRange(off, APLIC_TARGET_BASE, this.nrIrqs - 1))
      return this.target[((off - APLIC_TARGET_BASE) >> 2) + 1]!;
    return fail('ENODEV', `no APLIC register at 0x${off.toString(16)}`);
  }

  /** aplic_mmio_write_offset(): as readOffset's errors; then every enabled-and-pending source is sent. */
  writeOffset(off: number, v: number): void {
    if ((off & 3) !== 0) fail('EOPNOTSUPP', `APLIC offset 0x${off.toString(16)} is not aligned`);
    v >>>= 0;
    if (off === APLIC_DOMAINCFG) this.domaincfg = v & APLIC_DOMAINCFG_IE;
    else if (this.inRange(off, APLIC_SOURCECFG_BASE, this.nrIrqs - 1)) {
      const i = ((off - APLIC_SOURCECFG_BASE) >> 2) + 1;
      this.sourcecfg[i] = v & APLIC_SOURCECFG_D ? 0 : v & APLIC_SOURCECFG_SM_MASK;
    } else if (this.inRange(off, APLIC_SETIP_BASE, this.nrWords))
      this.writeWord((off - APLIC_SETIP_BASE) >> 2, v, (i) => this.writePending(i, true));
    else if (off === APLIC_SETIPNUM || off === APLIC_SETIPNUM_LE) this.writePending(v, true);
    else if (off === APLIC_SETIPNUM_BE) this.writePending(bswap32(v), true);
    else if (this.inRange(off, APLIC_CLRIP_BASE, this.nrWords))
      this.writeWord((off - APLIC_CLRIP_BASE) >> 2, v, (i) => this.writePending(i, false));
    else if (off === APLIC_CLRIPNUM) this.writePending(v, false);
    else if (this.inRange(off, APLIC_SETIE_BASE, this.nrWords))
      this.writeWord((off - APLIC_SETIE_BASE) >> 2, v, (i) => this.writeEnabled(i, true));
    else if (off === APLIC_SETIENUM) this.writeEnabled(v, true);
    else if (this.inRange(off, APLIC_CLRIE_BASE, this.nrWords))
      this.writeWord((off - APLIC_CLRIE_BASE) >> 2, v, (i) => this.writeEnabled(i, false));
    else if (off === APLIC_CLRIENUM) this.writeEnabled(v, false);
    else if (off === APLIC_GENMSI) {
      this.genmsi = v & ~(APLIC_TARGET_GUEST_IDX_MASK << APLIC_TARGET_GUEST_IDX_SHIFT);
      this.msisSent++;
      this.sink(v >>> APLIC_TARGET_HART_IDX_SHIFT, 0, v & APLIC_TARGET_EIID_MASK);
    } else if (this.inRange(off, APLIC_TARGET_BASE, this.nrIrqs - 1)) {
      const i = ((off - APLIC_TARGET_BASE) >> 2) + 1;
      this.target[i] =
        v &
        (APLIC_TARGET_EIID_MASK |
          (APLIC_TARGET_HART_IDX_MASK << APLIC_TARGET_HART_IDX_SHIFT) |
          (APLIC_TARGET_GUEST_IDX_MASK << APLIC_TARGET_GUEST_IDX_SHIFT));
    } else fail('ENODEV', `no APLIC register at 0x${off.toString(16)}`);
    this.update();
  }

  private word(w: number, bit: number): number {
    let v = 0;
    for (let b = 0; b < 32; b++) {
      const irq = w * 32 + b;
      if (irq > 0 && irq < this.nrIrqs && (this.state[irq]! & bit) !== 0) v |= 1 << b;
    }
    return v >>> 0;
  }

  private writeWord(w: number, v: number, fn: (irq: number) => void): void {
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) fn(w * 32 + b);
  }

  /** aplic_write_pending(): inactive sources ignore it; a level source is set pending only while asserted. */
  private writePending(irq: number, pending: boolean): void {
    if (irq <= 0 || irq >= this.nrIrqs) return;
    const sm = this.sourcecfg[irq]! & APLIC_SOURCECFG_SM_MASK;
    if (sm === APLIC_SOURCECFG_SM_INACTIVE) return;
    const st = this.state[irq]!;
    if (pending && (sm === APLIC_SOURCECFG_SM_LEVEL_HIGH || sm === APLIC_SOURCECFG_SM_LEVEL_LOW)) {
      const input = (st & STATE_INPUT) !== 0;
      if (input === (sm === APLIC_SOURCECFG_SM_LEVEL_LOW)) return;
    }
    this.state[irq] = pending ? st | STATE_PENDING : st & ~STATE_PENDING;
  }

  private writeEnabled(irq: number, enabled: boolean): void {
    if (irq <= 0 || irq >= this.nrIrqs) return;
    const st = this.state[irq]!;
    this.state[irq] = enabled ? st | STATE_ENABLED : st & ~STATE_ENABLED;
  }

  /** A guest load from the APLIC page (aplic_mmio_read()): 4-byte accesses only, others read 0. */
  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length !== 4) return;
    try {
      const v = this.readOffset(offset);
      data[0] = v & 0xff;
      data[1] = (v >>> 8) & 0xff;
      data[2] = (v >>> 16) & 0xff;
      data[3] = v >>> 24;
    } catch {
      // No register there: the guest reads zero.
    }
  }

  /** A guest store to the APLIC page (aplic_mmio_write()): ignored unless a 4-byte store to a register. */
  write(offset: number, data: Uint8Array): void {
    if (data.length !== 4) return;
    try {
      this.writeOffset(offset, data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24));
    } catch {
      // No register there: the store is dropped.
    }
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}
