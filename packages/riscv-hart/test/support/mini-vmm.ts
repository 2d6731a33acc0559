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
  ReservationSet,
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
/** Spare host frames that page migration moves guest pages into. */
const HOST_SPARE = 0x3_0000_0000n;
const SPARE_PAGES = 64;
/** Migration cycles over the guest pages the programs use (image, data, stack). */
const MIGRATE_FIRST_PAGE = 0x200;
const MIGRATE_PAGES = 0x60;
const TABLE_POOL_PAGES = 64;
const MAX_U64 = (1n << 64n) - 1n;

// hedeleg/hideleg as KVM sets them (kvm_arch_hardware_enable()): these
// exceptions go straight to the guest; everything else exits to the host.
// Illegal instructions are left out, as older kernels do (newer ones
// delegate them too), so that they exit and the VMM redirects them,
// exercising redirectTrap().
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
  /** Number of harts (hart 0 boots; the others wait for SBI HSM hart_start). */
  harts?: number;
  /** Offer SBI DBCN (default); without it guests print with legacy putchar. */
  dbcn?: boolean;
  /** The harts' block-compiler threshold (1: every block head is compiled the first time). */
  jitThreshold?: number;
  /**
   * After every exit, move one guest page to another host frame (copy, new
   * G-stage leaf, flushGStage()), as the host MM migrating a page under an
   * MMU notifier does. Invisible to a correct guest and hart.
   */
  migrate?: boolean;
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
  /** Guest pages moved to another host frame (the migrate option). */
  migrations: number;
}

/**
 * A test VMM in the shape of KVM + a tiny VMM: guest RAM behind a G-stage
 * Sv39x4 (or Sv48x4) table; hart 0 enters VS-mode at 0x80200000 (a0 = 0,
 * a1 = 0: no DTB), other harts when started through SBI HSM; and the exits
 * KVM handles: SBI calls (console, SRST, TIME and sPI as VS timer/software
 * interrupts through hvip, HSM), illegal and virtual instructions and
 * misaligned/access faults redirected into the guest (as
 * kvm_riscv_vcpu_trap_redirect()), wfi (wakes on a pending interrupt or
 * sleeps until the armed timer).
 */
export function runOnHart(image: Uint8Array, opts: MiniVmmOptions = {}): MiniVmmResult {
  const ramBytes = (opts.ramMiB ?? 16) * 1024 * 1024;
  const pages = ramBytes / 4096;
  const mem = new TestPhysMemory();
  mem.addRegion(HOST_RAM_BASE, pages);
  mem.addRegion(HOST_TABLE_POOL, TABLE_POOL_PAGES);
  mem.addRegion(HOST_SPARE, SPARE_PAGES);
  const freeFrames = Array.from({ length: SPARE_PAGES }, (_, i) => HOST_SPARE + BigInt(i * 4096));
  let migrateNext = 0;
  let migrations = 0;
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
  const nharts = opts.harts ?? 1;
  const reservations = new ReservationSet();
  const harts = Array.from({ length: nharts }, () => {
    const h = new Hart({
      mem,
      ...(mem.arena ? { arena: mem.arena } : {}),
      reservations,
      hardwareAd: opts.hardwareAd ?? true,
      readTime: () => clock.now,
      ...(opts.jitThreshold === undefined ? {} : { jitThreshold: opts.jitThreshold }),
    });
    h.setCsr(CSR_HGATP, g.hgatp(1));
    h.setCsr(CSR_HEDELEG, BigInt(KVM_HEDELEG));
    h.setCsr(CSR_HIDELEG, BigInt(KVM_HIDELEG));
    h.setCsr(CSR_HSTATUS, BigInt(HSTATUS_VTW)); // wfi traps, as KVM runs guests
    h.setCsr(CSR_HCOUNTEREN, 7n); // cycle, time, instret readable by the guest
    h.setMode(PRV_S, 1);
    return h;
  });
  const boot = harts[0]!;
  boot.pc = GUEST_LOAD_ADDR;
  boot.setX(10, 0n);
  boot.setX(11, 0n);

  const sbi = new MiniSbi(guestRead, nharts, opts.dbcn ?? true);
  const exits: MiniVmmResult['exits'] = {};
  const max = opts.maxInstructions ?? 300_000_000;
  let retired = 0;
  let error: string | undefined;
  let turn = 0;
  while (sbi.reset === undefined && error === undefined) {
    if (retired >= max) {
      error = `no shutdown after ${retired} instructions (pc 0x${boot.pc.toString(16)})`;
      break;
    }
    // Round robin over the started harts; short slices when several run,
    // so that their LR/SC loops and AMOs interleave.
    const running = harts.flatMap((_, i) => (sbi.started[i] ? [i] : []));
    if (running.length === 0) {
      error = 'every hart stopped';
      break;
    }
    const id = running[turn++ % running.length]!;
    const hart = harts[id]!;
    const slice = running.length > 1 ? 97 : 100_000;
    const e = hart.run(Math.min(slice, max - retired));
    retired += e.retired;
    clock.now += BigInt(e.retired);
    exits[e.kind] = (exits[e.kind] ?? 0) + 1;
    error = handleExit(hart, id, e, sbi, clock, running.length > 1);
    if (opts.migrate && error === undefined) {
      const gpa = GUEST_RAM_BASE + BigInt((MIGRATE_FIRST_PAGE + (migrateNext++ % MIGRATE_PAGES)) * 4096);
      const from = g.translate(gpa)!;
      const to = freeFrames.shift()!;
      mem.write(to, mem.read(from, 4096)!);
      g.map(gpa, to, 4096);
      freeFrames.push(from);
      mem.write(from, new Uint8Array(4096).fill(0xa5)); // stale reads show up
      for (const h of harts) h.flushGStage(1);
      migrations++;
    }
    // HSM hart_start: enter the new hart as KVM does (a0 = id, a1 = opaque).
    for (const st of sbi.starts.splice(0)) {
      const h = harts[st.hart]!;
      h.setMode(PRV_S, 1);
      h.pc = st.addr;
      h.setX(10, BigInt(st.hart));
      h.setX(11, st.opaque);
    }
    // Interrupt lines, as the SBI calls and the clock left them.
    for (const [i, h] of harts.entries()) {
      if (sbi.ipiPending[i]) {
        h.setInterrupt(IRQ_VS_SOFT, true);
        sbi.ipiPending[i] = false;
      }
      const t = sbi.timer[i];
      h.setInterrupt(IRQ_VS_TIMER, t !== undefined && clock.now >= t);
    }
  }
  const raw = sbi.output;
  return { output: afterStartMarker(raw), raw, reset: sbi.reset, error, retired, exits, migrations };
}

/** One exit, as kvm_riscv_vcpu_exit() would; returns a reason to stop, if any. */
function handleExit(
  hart: Hart,
  id: number,
  e: HartExit,
  sbi: MiniSbi,
  clock: { now: bigint },
  othersRun: boolean,
): string | undefined {
  const where = `at pc 0x${e.pc.toString(16)}`;
  switch (e.kind) {
    case 'budget':
      return undefined;
    case 'ecall': {
      if (e.cause !== EXC_ECALL_VS) return `ecall with cause ${e.cause} ${where}`;
      const a = [10, 11, 12, 13, 14, 15].map((i) => hart.getX(i));
      const eid = BigInt.asUintN(64, hart.getX(17));
      const r = sbi.call(eid, BigInt.asUintN(64, hart.getX(16)), a, id);
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
      // otherwise sleep until the armed timer (time jumps to it when no
      // other hart runs). With other harts running, wfi returns (it may).
      if ((hart.hip() & Number(hart.getCsr(CSR_HIE))) === 0 && !othersRun) {
        const t = sbi.timer[id];
        if (t === undefined || t === MAX_U64) return `wfi with no interrupt source ${where}`;
        if (clock.now < t) clock.now = t;
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
