import {
  CSR_HCOUNTEREN,
  CSR_HEDELEG,
  CSR_HGATP,
  CSR_HIDELEG,
  CSR_HIE,
  CSR_HSTATUS,
  EXC_BREAKPOINT,
  EXC_ECALL_U,
  EXC_ECALL_VS,
  EXC_ILLEGAL_INST,
  EXC_INST_MISALIGNED,
  EXC_INST_PAGE_FAULT,
  EXC_LOAD_ACCESS,
  EXC_LOAD_MISALIGNED,
  EXC_LOAD_PAGE_FAULT,
  EXC_STORE_ACCESS,
  EXC_STORE_MISALIGNED,
  EXC_STORE_PAGE_FAULT,
  Hart,
  type HartExit,
  HSTATUS_VTW,
  IRQ_VS_EXT,
  IRQ_VS_SOFT,
  IRQ_VS_TIMER,
  PRV_S,
} from '../../src/index.ts';
import { GStage, type GStageMode } from './gstage.ts';
import { afterStartMarker, GUEST_LOAD_ADDR } from './guests.ts';
import { MiniSbi, type SrstEvent } from './mini-sbi.ts';
import { TestPhysMemory } from './test-phys-memory.ts';

/** Guest RAM as on QEMU's virt board: GPA 0x80000000. */
export const GUEST_RAM_BASE = 0x8000_0000n;
/** Host physical backing of guest RAM (deliberately not the GPA). */
const HOST_RAM_BASE = 0x1_0000_0000n;
/** Host frames for the G-stage tables. */
const HOST_TABLE_POOL = 0x2_0000_0000n;
const TABLE_POOL_PAGES = 64;
const MAX_U64 = (1n << 64n) - 1n;

// As KVM configures a vCPU (kvm_riscv_vcpu_config / hardware_enable): these
// exceptions go straight to the guest; everything else exits to the host.
// Illegal instructions are left out (as in kernels before 6.16) so that
// they exit and the VMM redirects them, exercising redirectTrap().
const KVM_HEDELEG =
  (1 << EXC_INST_MISALIGNED) |
  (1 << EXC_BREAKPOINT) |
  (1 << EXC_ECALL_U) |
  (1 << EXC_INST_PAGE_FAULT) |
  (1 << EXC_LOAD_PAGE_FAULT) |
  (1 << EXC_STORE_PAGE_FAULT);
const KVM_HIDELEG = (1 << IRQ_VS_SOFT) | (1 << IRQ_VS_TIMER) | (1 << IRQ_VS_EXT);

export interface MiniVmmOptions {
  ramMiB?: number;
  /** Stop after this many instructions (a guest that never shuts down). */
  maxInstructions?: number;
  /** Hardware A/D updating (Svadu) or A/D page faults (Svade). */
  hardwareAd?: boolean;
  /** G-stage format (hgatp.MODE): Sv39x4 by default. */
  gstage?: GStageMode;
}

export interface MiniVmmResult {
  /** Console text after the start marker; undefined if it never appeared. */
  output: string | undefined;
  /** The whole console text. */
  raw: string;
  /** The SRST request that ended the run, if any. */
  reset: SrstEvent | undefined;
  /** Why the run stopped without SRST, if it did. */
  error: string | undefined;
  retired: number;
  exits: Partial<Record<HartExit['kind'], number>>;
}

/**
 * A test VMM in the shape of KVM + a tiny VMM: guest RAM behind a G-stage
 * Sv39x4 (or Sv48x4) table, one hart in VS-mode at 0x80200000 (a0 = hart id 0, a1 = 0:
 * no DTB), and the exits KVM handles: SBI calls (console, SRST, TIME, sPI
 * as VS timer/software interrupts through hvip), illegal and virtual
 * instructions and misaligned/access faults redirected into the guest (as
 * kvm_riscv_vcpu_trap_redirect()), wfi (wakes on a pending interrupt or
 * sleeps until the armed timer).
 */
export function runOnHart(image: Uint8Array, opts: MiniVmmOptions = {}): MiniVmmResult {
  const ramBytes = (opts.ramMiB ?? 16) * 1024 * 1024;
  const pages = ramBytes / 4096;
  const mem = new TestPhysMemory();
  mem.addRegion(HOST_RAM_BASE, pages);
  mem.addRegion(HOST_TABLE_POOL, TABLE_POOL_PAGES);
  const g = new GStage(mem, HOST_TABLE_POOL, HOST_TABLE_POOL + BigInt(TABLE_POOL_PAGES * 4096), opts.gstage);
  // Swap each pair of pages between GPA and HPA, so that an access that
  // skips the G-stage, or a cross-page access translated once, reads the
  // wrong bytes.
  for (let i = 0; i < pages; i++) {
    g.map(GUEST_RAM_BASE + BigInt(i * 4096), HOST_RAM_BASE + BigInt((i ^ 1) * 4096), 4096);
  }
  const guestRead = (gpa: bigint, len: number): Uint8Array | undefined => {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; ) {
      const hpa = g.translate(gpa + BigInt(off));
      if (hpa === undefined) return undefined;
      const n = Math.min(4096 - Number(hpa & 0xfffn), len - off);
      const b = mem.read(hpa, n);
      if (!b) return undefined;
      out.set(b, off);
      off += n;
    }
    return out;
  };
  const guestWrite = (gpa: bigint, bytes: Uint8Array): void => {
    for (let off = 0; off < bytes.length; ) {
      const hpa = g.translate(gpa + BigInt(off));
      if (hpa === undefined)
        throw new Error(`image does not fit guest RAM at 0x${(gpa + BigInt(off)).toString(16)}`);
      const n = Math.min(4096 - Number(hpa & 0xfffn), bytes.length - off);
      mem.write(hpa, bytes.subarray(off, off + n));
      off += n;
    }
  };
  guestWrite(GUEST_LOAD_ADDR, image);

  // The guest's time base: one tick per retired instruction, plus the jumps
  // a wfi with an armed timer makes. Deterministic, unlike a wall clock.
  const clock = { now: 0n };
  const hart = new Hart({ mem, hardwareAd: opts.hardwareAd ?? true, readTime: () => clock.now });
  hart.setCsr(CSR_HGATP, g.hgatp(1));
  hart.setCsr(CSR_HEDELEG, BigInt(KVM_HEDELEG));
  hart.setCsr(CSR_HIDELEG, BigInt(KVM_HIDELEG));
  hart.setCsr(CSR_HSTATUS, BigInt(HSTATUS_VTW)); // wfi traps, as KVM runs guests
  hart.setCsr(CSR_HCOUNTEREN, 7n); // cycle, time, instret readable by the guest
  hart.setMode(PRV_S, 1);
  hart.pc = GUEST_LOAD_ADDR;
  hart.setX(10, 0n);
  hart.setX(11, 0n);

  const sbi = new MiniSbi(guestRead);
  const exits: MiniVmmResult['exits'] = {};
  const max = opts.maxInstructions ?? 300_000_000;
  let retired = 0;
  let error: string | undefined;
  while (sbi.reset === undefined && error === undefined) {
    if (retired >= max) {
      error = `no shutdown after ${retired} instructions (pc 0x${hart.pc.toString(16)})`;
      break;
    }
    const e = hart.run(Math.min(100_000, max - retired));
    retired += e.retired;
    clock.now += BigInt(e.retired);
    exits[e.kind] = (exits[e.kind] ?? 0) + 1;
    error = handleExit(hart, e, sbi, clock);
    // Interrupt lines, as the SBI calls and the clock left them.
    if (sbi.ipiPending) {
      hart.setInterrupt(IRQ_VS_SOFT, true);
      sbi.ipiPending = false;
    }
    hart.setInterrupt(IRQ_VS_TIMER, sbi.timer !== undefined && clock.now >= sbi.timer);
  }
  const raw = sbi.output;
  return { output: afterStartMarker(raw), raw, reset: sbi.reset, error, retired, exits };
}

/** One exit, as kvm_riscv_vcpu_exit() would; returns a reason to stop, if any. */
function handleExit(hart: Hart, e: HartExit, sbi: MiniSbi, clock: { now: bigint }): string | undefined {
  const where = `at pc 0x${e.pc.toString(16)}`;
  switch (e.kind) {
    case 'budget':
      return undefined;
    case 'ecall': {
      if (e.cause !== EXC_ECALL_VS) return `ecall with cause ${e.cause} ${where}`;
      const a = [10, 11, 12, 13, 14, 15].map((i) => hart.getX(i));
      const eid = BigInt.asUintN(64, hart.getX(17));
      const r = sbi.call(eid, BigInt.asUintN(64, hart.getX(16)), a);
      if (eid < 0x10n) {
        hart.setX(10, r.value); // legacy (v0.1) calls return only a0
      } else {
        hart.setX(10, r.error);
        hart.setX(11, r.value);
      }
      hart.pc = e.pc + 4n;
      return undefined;
    }
    case 'illegal-instruction':
    case 'virtual-instruction':
      // KVM: an instruction it does not emulate is illegal to the guest.
      hart.redirectTrap(EXC_ILLEGAL_INST, e.tval);
      return undefined;
    case 'exception':
      switch (e.cause) {
        case EXC_LOAD_MISALIGNED:
        case EXC_STORE_MISALIGNED:
        case EXC_LOAD_ACCESS:
        case EXC_STORE_ACCESS:
          hart.redirectTrap(e.cause, e.tval);
          return undefined;
        default:
          return `unexpected exception ${e.cause} tval 0x${e.tval.toString(16)} ${where}`;
      }
    case 'wfi':
    case 'idle':
      // kvm_riscv_vcpu_wfi(): a pending enabled interrupt wakes at once;
      // otherwise sleep until the armed timer (time jumps to it).
      if ((hart.hip() & Number(hart.getCsr(CSR_HIE))) === 0) {
        if (sbi.timer === undefined || sbi.timer === MAX_U64) return `wfi with no interrupt source ${where}`;
        if (clock.now < sbi.timer) clock.now = sbi.timer;
      }
      if (e.kind === 'wfi') hart.pc = e.pc + 4n;
      return undefined;
    case 'guest-page-fault': {
      const gpa = (e.htval << 2n) | (e.tval & 3n);
      return `guest page fault (cause ${e.cause}) at GPA 0x${gpa.toString(16)} ${where}`;
    }
    case 'interrupt':
      return `unexpected interrupt ${e.cause} ${where}`;
  }
}
