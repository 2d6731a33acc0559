import {
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_PM,
  PCI_CAPABILITY_LIST,
  PCI_CFG_SPACE_SIZE,
  PCI_CLASS_REVISION,
  PCI_COMMAND,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from '@tsvirt/vfio-mpci';
import {
  SGPU_BAR0_SIZE,
  SGPU_CLASS_CODE,
  SGPU_DEVICE_ID,
  SGPU_MSI_CAP,
  SGPU_PM_CAP,
  SGPU_REVISION,
  SGPU_VENDOR_ID,
} from './spec.ts';

// Command register bits (pci_regs.h).
/** Command: memory space enable. */
export const PCI_COMMAND_MEMORY = 0x2;
/** Command: bus master enable. */
export const PCI_COMMAND_MASTER = 0x4;
/** Command: INTx disable. */
export const PCI_COMMAND_INTX_DISABLE = 0x400;
/** Status bit 3: the function asserts INTx (before INTx disable). */
export const PCI_STATUS_INTERRUPT = 0x8;
/** BAR memory type: 64-bit. */
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x4;
/** BAR bit: prefetchable. */
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x8;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_PM_PMC = 2;
export const PCI_PM_CTRL = 4;
export const PCI_PM_CTRL_STATE_MASK = 0x3;
export const PCI_MSI_FLAGS_ENABLE = 0x1;
export const PCI_MSI_FLAGS_QSIZE = 0x70;
export const PCI_MSI_FLAGS_64BIT = 0x80;
export const PCI_MSI_FLAGS_MASKBIT = 0x100;
export const PCI_MSI_ADDRESS_LO = 4;
export const PCI_MSI_ADDRESS_HI = 8;
export const PCI_MSI_DATA_64 = 12;
export const PCI_MSI_MASK_64 = 16;
export const PCI_MSI_PENDING_64 = 20;

/**
 * The sample GPU's 256-byte type-0 config space with the usual hardware
 * rules: each byte has a write mask (bits software may set) and a
 * write-1-to-clear mask, so a write can never change a read-only bit (as
 * QEMU's pci_default_write_config() models real devices). BARs report their
 * size by the bits they keep writable.
 */
export class GpuConfigSpace {
  /** The config space bytes. */
  readonly bytes = new Uint8Array(PCI_CFG_SPACE_SIZE);
  private readonly wmask = new Uint8Array(PCI_CFG_SPACE_SIZE);
  private readonly w1cmask = new Uint8Array(PCI_CFG_SPACE_SIZE);
  private readonly view = new DataView(this.bytes.buffer);

  constructor(
    private readonly subsystemId: number,
    /** VRAM size, which sizes BAR2. */
    readonly vramSize: number,
  ) {
    this.powerOn();
  }

  /** Power-on values (also the state after a function-level reset). */
  powerOn(): void {
    const b = this.bytes;
    b.fill(0);
    this.wmask.fill(0);
    this.w1cmask.fill(0);
    this.set16(0x00, SGPU_VENDOR_ID);
    this.set16(0x02, SGPU_DEVICE_ID);
    this.set16(PCI_STATUS, PCI_STATUS_CAP_LIST);
    this.set32(PCI_CLASS_REVISION, (SGPU_CLASS_CODE << 8) | SGPU_REVISION);
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, SGPU_VENDOR_ID);
    this.set16(PCI_SUBSYSTEM_ID, this.subsystemId);
    b[PCI_CAPABILITY_LIST] = SGPU_PM_CAP;
    b[PCI_INTERRUPT_PIN] = 1;
    // Writable: memory decode, bus master, INTx disable; no I/O BARs, no parity/SERR.
    this.mask16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    // Status error bits are RW1C (never set by this device, but clearable).
    this.w1cmask[PCI_STATUS + 1] = 0xf9;
    this.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
    // BAR0: 4 KiB, 32-bit, non-prefetchable memory.
    this.mask32(0x10, ~(SGPU_BAR0_SIZE - 1) >>> 0);
    // BAR2/3: VRAM, 64-bit prefetchable memory.
    this.set32(0x18, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
    this.mask32(0x18, ~(this.vramSize - 1) >>> 0);
    this.mask32(0x1c, 0xffffffff);
    // Power management, version 3, no PME, D1/D2 unsupported; next -> MSI.
    b[SGPU_PM_CAP] = PCI_CAP_ID_PM;
    b[SGPU_PM_CAP + 1] = SGPU_MSI_CAP;
    this.set16(SGPU_PM_CAP + PCI_PM_PMC, 0x0003);
    // PMCSR: No_Soft_Reset (bit 3) so D3hot->D0 keeps state; power state writable.
    this.set16(SGPU_PM_CAP + PCI_PM_CTRL, 0x0008);
    this.mask16(SGPU_PM_CAP + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
    // MSI: 64-bit, per-vector masking, one vector (MMC 0); the end of the list.
    b[SGPU_MSI_CAP] = PCI_CAP_ID_MSI;
    this.set16(SGPU_MSI_CAP + 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
    this.mask16(SGPU_MSI_CAP + 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    this.mask32(SGPU_MSI_CAP + PCI_MSI_ADDRESS_LO, 0xfffffffc);
    this.mask32(SGPU_MSI_CAP + PCI_MSI_ADDRESS_HI, 0xffffffff);
    this.mask16(SGPU_MSI_CAP + PCI_MSI_DATA_64, 0xffff);
    this.mask32(SGPU_MSI_CAP + PCI_MSI_MASK_64, 0x1);
  }

  private set16(off: number, v: number): void {
    this.view.setUint16(off, v, true);
  }
  private set32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0, true);
  }
  private mask16(off: number, m: number): void {
    this.wmask[off] = m & 0xff;
    this.wmask[off + 1] = (m >> 8) & 0xff;
  }
  private mask32(off: number, m: number): void {
    for (let i = 0; i < 4; i++) this.wmask[off + i] = (m >>> (8 * i)) & 0xff;
  }

  /** Little-endian 16-bit read. */
  read16(off: number): number {
    return this.view.getUint16(off, true);
  }
  /** Little-endian 32-bit read. */
  read32(off: number): number {
    return this.view.getUint32(off, true);
  }

  /** A config read of buf.length bytes at `off` (always inside the 256 bytes). */
  read(off: number, buf: Uint8Array): void {
    buf.set(this.bytes.subarray(off, off + buf.length));
  }

  /**
   * A config write: only writable bits change, RW1C bits clear where a 1 is
   * written. MSI's Multiple Message Enable is clamped to what is capable (0).
   */
  write(off: number, buf: Uint8Array): void {
    const b = this.bytes;
    const pmcsr = SGPU_PM_CAP + PCI_PM_CTRL;
    const oldState = b[pmcsr]! & PCI_PM_CTRL_STATE_MASK;
    for (let i = 0; i < buf.length; i++) {
      const a = off + i;
      const v = buf[i]!;
      const wm = this.wmask[a]!;
      b[a] = ((b[a]! & ~wm) | (v & wm)) & ~(v & this.w1cmask[a]!);
    }
    const ctl = SGPU_MSI_CAP + 2;
    if (off <= ctl && off + buf.length > ctl) b[ctl] = b[ctl]! & ~PCI_MSI_FLAGS_QSIZE;
    // D1 and D2 are not supported (PMC says so): such a write leaves the state as it was.
    const st = b[pmcsr]! & PCI_PM_CTRL_STATE_MASK;
    if (st === 1 || st === 2) b[pmcsr] = (b[pmcsr]! & ~PCI_PM_CTRL_STATE_MASK) | oldState;
  }

  /** The device drives Status.Interrupt (read-only to software). */
  setInterruptStatus(on: boolean): void {
    const s = this.read16(PCI_STATUS);
    this.set16(PCI_STATUS, on ? s | PCI_STATUS_INTERRUPT : s & ~PCI_STATUS_INTERRUPT);
  }

  /** The device sets MSI's pending bit while the vector is masked. */
  setMsiPending(on: boolean): void {
    this.set32(SGPU_MSI_CAP + PCI_MSI_PENDING_64, on ? 1 : 0);
  }

  /** The command register. */
  get command(): number {
    return this.read16(PCI_COMMAND);
  }
  /** The power state from PMCSR: 0 = D0 ... 3 = D3hot. */
  get powerState(): number {
    return this.bytes[SGPU_PM_CAP + PCI_PM_CTRL]! & PCI_PM_CTRL_STATE_MASK;
  }
  /** BARs decode: memory enable set and in D0 (as __vfio_pci_memory_enabled() with D3hot). */
  get memoryEnabled(): boolean {
    return (this.command & PCI_COMMAND_MEMORY) !== 0 && this.powerState === 0;
  }
  /** Bus mastering (DMA) is enabled. */
  get busMaster(): boolean {
    return (this.command & PCI_COMMAND_MASTER) !== 0;
  }
  /** INTx is disabled in the command register. */
  get intxDisabled(): boolean {
    return (this.command & PCI_COMMAND_INTX_DISABLE) !== 0;
  }
  /** MSI is enabled. */
  get msiEnabled(): boolean {
    return (this.read16(SGPU_MSI_CAP + 2) & PCI_MSI_FLAGS_ENABLE) !== 0;
  }
  /** The MSI vector is masked. */
  get msiMasked(): boolean {
    return (this.read32(SGPU_MSI_CAP + PCI_MSI_MASK_64) & 1) !== 0;
  }
  /** The MSI vector is pending. */
  get msiPending(): boolean {
    return (this.read32(SGPU_MSI_CAP + PCI_MSI_PENDING_64) & 1) !== 0;
  }
}
