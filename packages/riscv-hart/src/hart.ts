import { fail } from '@tsvirt/core-bus';
import * as A from './aia.ts';
import * as C from './csr.ts';
import type { ExitKind, HartExit } from './exit.ts';
import { executeFp, type FpuState } from './fpu/index.ts';
import { compileBlock, JIT_LIB, type JitBlock } from './jit.ts';
import { Mmu, type MmuContext } from './mmu.ts';
import { div32, div64, mul64, mulh64, mulhsu64, mulhu64 } from './muldiv.ts';
import type { PhysMemory } from './phys-memory.ts';
import { ReservationSet } from './reservation.ts';
import { RVC_TABLE } from './rvc.ts';
import { restoreHart, saveHart } from './snapshot.ts';
import { ACC_EXEC, ACC_READ, ACC_WRITE, TLB_MASK, Tlb, type TlbSet } from './tlb.ts';
import { PendingTrap, TRAP } from './trap.ts';

/** What a hart is built from: host memory, the LR/SC reservation set, the time source, A/D updates and the JIT. */
export interface HartOptions {
  /** Host physical memory (host-mm's frame(pfn) fits). */
  mem: PhysMemory;
  /** The machine's shared LR/SC reservation set; a private one if omitted. */
  reservations?: ReservationSet;
  /** Hardware A/D updates in both stages (Svadu). false = Svade: A/D faults. Default true. */
  hardwareAd?: boolean;
  /** The host timebase read by `time` (before htimedelta). Default: the `hostTime` field. */
  readTime?: () => bigint;
  /** Compile hot blocks to JavaScript (jit.ts). Default true; false runs the interpreter alone. */
  jit?: boolean;
  /** Times a block head is reached before it is compiled. Default JIT_HOT. */
  jitThreshold?: number;
  /** GEILEN: guest interrupt files (VS-level IMSIC files) of this hart, 0..30 (aia.ts). Default 0. */
  geilen?: number;
  /** N, the highest identity of each guest interrupt file. Default 255 (QEMU virt's IMSIC). */
  imsicIds?: number;
}

const TWO32 = 4294967296;
/** Instructions between interrupt/timer checks. */
const CHUNK = 4096;
/**
 * Times a block head is reached before it is compiled. Compiling costs about
 * what interpreting tens of thousands of instructions does (V8 parses and
 * later optimizes each block), so code that is merely warm, like a firmware's
 * boot path, stays interpreted: at 256, U-Boot reached its prompt in about
 * twice the interpreter's time; at 16384 in the same time, with its crc32
 * loop still compiled after 64 KiB.
 */
export const JIT_HOT = 16384;
/** Compiled blocks kept per hart before the cache starts over. */
const JIT_MAX_BLOCKS = 1 << 15;
/**
 * What one block compile costs against run()'s budget, in instructions. A
 * compile (new Function) takes about as long as a thousand interpreted
 * instructions; charging it keeps a quantum's wall time bounded when a guest
 * makes the compiler work without end (fence.i in a loop under
 * --jit-threshold 1), so the VMM gets back to its console in time. It is
 * charged, not retired: instret and the guest's clock do not move.
 */
export const JIT_COMPILE_CHARGE = 1024;
/**
 * Block heads are counted in a table indexed by a hash of the pc (a typed-array
 * increment per head, no map); a slot that reaches the threshold stays marked
 * HEAD_HOT, and only then is the block map consulted. Two heads sharing a slot
 * share a count: at worst a head is compiled a little early.
 */
const HEAD_SLOTS = 1 << 16;
const HEAD_HOT = 0xffff;
const PPN_MASK = (1n << 44n) - 1n;
const XLEN_FIELD = 2n << 32n; // UXL / VSXL = 64-bit
const SD = 1n << 63n;
const MASK64 = (1n << 64n) - 1n;

/** CSRs that exist (host numbering). */
const CSRS = new Set<number>([
  C.CSR_FFLAGS,
  C.CSR_FRM,
  C.CSR_FCSR,
  C.CSR_SSTATUS,
  C.CSR_SIE,
  C.CSR_STVEC,
  C.CSR_SCOUNTEREN,
  C.CSR_SENVCFG,
  C.CSR_SSCRATCH,
  C.CSR_SEPC,
  C.CSR_SCAUSE,
  C.CSR_STVAL,
  C.CSR_SIP,
  C.CSR_STIMECMP,
  C.CSR_SATP,
  C.CSR_VSSTATUS,
  C.CSR_VSIE,
  C.CSR_VSTVEC,
  C.CSR_VSSCRATCH,
  C.CSR_VSEPC,
  C.CSR_VSCAUSE,
  C.CSR_VSTVAL,
  C.CSR_VSIP,
  C.CSR_VSTIMECMP,
  C.CSR_VSATP,
  C.CSR_HSTATUS,
  C.CSR_HEDELEG,
  C.CSR_HIDELEG,
  C.CSR_HIE,
  C.CSR_HTIMEDELTA,
  C.CSR_HCOUNTEREN,
  C.CSR_HGEIE,
  C.CSR_HENVCFG,
  C.CSR_HTVAL,
  C.CSR_HIP,
  C.CSR_HVIP,
  C.CSR_HTINST,
  C.CSR_HGATP,
  C.CSR_HGEIP,
  C.CSR_MSTATUS,
  A.CSR_SISELECT,
  A.CSR_SIREG,
  A.CSR_STOPEI,
  A.CSR_STOPI,
  A.CSR_VSISELECT,
  A.CSR_VSIREG,
  A.CSR_VSTOPEI,
  A.CSR_VSTOPI,
]);
for (let n = C.CSR_CYCLE; n <= C.CSR_HPMCOUNTER31; n++) CSRS.add(n);

/** When V=1, these supervisor CSR numbers reach their VS counterparts (H spec 8.2). */
const VS_ALIAS = new Map<number, number>([
  [C.CSR_SSTATUS, C.CSR_VSSTATUS],
  [C.CSR_SIE, C.CSR_VSIE],
  [C.CSR_STVEC, C.CSR_VSTVEC],
  [C.CSR_SSCRATCH, C.CSR_VSSCRATCH],
  [C.CSR_SEPC, C.CSR_VSEPC],
  [C.CSR_SCAUSE, C.CSR_VSCAUSE],
  [C.CSR_STVAL, C.CSR_VSTVAL],
  [C.CSR_SIP, C.CSR_VSIP],
  [C.CSR_STIMECMP, C.CSR_VSTIMECMP],
  [C.CSR_SATP, C.CSR_VSATP],
  [A.CSR_SISELECT, A.CSR_VSISELECT],
  [A.CSR_SIREG, A.CSR_VSIREG],
  [A.CSR_STOPEI, A.CSR_VSTOPEI],
  [A.CSR_STOPI, A.CSR_VSTOPI],
]);

const sx = (v: bigint) => Number(BigInt.asIntN(64, v));

/**
 * One RV64IMAC(+FD through src/fpu) hart with the H extension. Guests run in
 * VS/VU (V=1); traps that hardware would take to HS end `run()` with an exit
 * record. Register state lives in typed arrays (x: BigInt64Array with an
 * Int32Array view; f: 64 words) so a block compiler can share it.
 */
export class Hart implements FpuState {
  /** x registers; x32 views the same bytes as (lo, hi) int32 pairs. */
  readonly x = new BigInt64Array(32);
  /** The x registers as (lo, hi) int32 pairs over the same bytes. */
  readonly x32 = new Int32Array(this.x.buffer);
  /** f registers: f[2i] low word, f[2i+1] high word (NaN-boxed singles). */
  readonly f = new Uint32Array(64);
  frm = 0;
  fflags = 0;
  /** Set by the FP unit when it writes f registers or fflags. */
  fsDirty = false;

  /** pc as a signed 64-bit value held in a double (exact for every canonical address). */
  pcNum = 0;
  /** Current privilege level (PRV_U or PRV_S). */
  priv = C.PRV_S;
  /** Virtualization mode: 1 while running the guest (V=1). */
  v = 1;
  /** Instructions retired (instret; cycle reads the same). */
  instret = 0;
  /** Host timebase, when no readTime option is given. */
  hostTime = 0n;

  // HS-level state (mstatus holds sstatus; only S/U-visible fields are modelled).
  /** mstatus, holding the sstatus fields. */
  mstatus = C.SR_FS_INITIAL;
  /** sie. */
  sie = 0;
  /** sip. */
  sip = 0;
  /** stvec. */
  stvec = 0n;
  /** scounteren. */
  scounteren = 0;
  /** senvcfg. */
  senvcfg = 0n;
  /** sscratch. */
  sscratch = 0n;
  /** sepc. */
  sepc = 0n;
  /** scause. */
  scause = 0n;
  /** stval. */
  stval = 0n;
  /** stimecmp (Sstc); all ones means no timer. */
  stimecmp = MASK64;
  /** satp. */
  satp = 0n;
  // VS-level state.
  /** vsstatus. */
  vsstatus = C.SR_FS_INITIAL;
  /** vstvec. */
  vstvec = 0n;
  /** vsscratch. */
  vsscratch = 0n;
  /** vsepc. */
  vsepc = 0n;
  /** vscause. */
  vscause = 0n;
  /** vstval. */
  vstval = 0n;
  /** vstimecmp (Sstc); all ones means no timer. */
  vstimecmp = MASK64;
  /** vsatp. */
  vsatp = 0n;
  // Hypervisor state.
  /** hstatus. */
  hstatus = 0;
  /** hedeleg. */
  hedeleg = 0;
  /** hideleg. */
  hideleg = 0;
  /** hie. */
  hie = 0;
  /** hvip. */
  hvip = 0;
  /** htimedelta. */
  htimedelta = 0n;
  /** hcounteren. */
  hcounteren = 0;
  /** henvcfg. */
  henvcfg = 0n;
  /** htval. */
  htval = 0n;
  /** htinst. */
  htinst = 0n;
  /** hgatp. */
  hgatp = 0n;

  /** The LR/SC reservation set shared with the other harts. */
  readonly reservations: ReservationSet;
  /** This hart's id in the reservation set. */
  readonly resvId: number;
  /** Cause and trap values recorded by the trap being taken. */
  readonly pending = new PendingTrap();
  /** AIA: guest interrupt files, hgeie/hgeip, vsiselect (aia.ts). */
  readonly aia: A.HartAia;

  private readonly mem: PhysMemory;
  private readonly readTime: () => bigint;
  private readonly tlb = new Tlb();
  private readonly ctx: MmuContext;
  private readonly mmu: Mmu;
  private set!: TlbSet;
  private exitRec: HartExit | undefined;
  private resetBlob: Uint8Array | undefined;
  private readonly tmp = new Int32Array(2);
  /** Retired-but-not-yet-counted instructions of the running chunk. */
  private inflight = 0;
  // The fetch page: its virtual address (pc domain), 16-bit view and byte base.
  private fPage = Number.NaN;
  private fU16: Uint16Array = new Uint16Array(0);
  private fBase = 0;
  private readonly jit: boolean;
  private readonly jitThreshold: number;
  /** Block compiles of this run() call, in instructions (JIT_COMPILE_CHARGE each). */
  private compileCharge = 0;
  /** Compiled blocks by head pc (null: the head does not start a compilable block). */
  private readonly blocks = new Map<number, JitBlock | null>();
  /** How often block heads were reached, by pc hash (HEAD_HOT once one in the slot is compiled). */
  private readonly heat = new Uint16Array(HEAD_SLOTS);
  /** Set by a compiled block before a call that may trap: the index of that instruction. */
  jitIndex = 0;
  /** Set by a looping block: passes completed (before the current one, when it traps). */
  jitLoops = 0;

  constructor(opts: HartOptions) {
    this.jit = opts.jit ?? true;
    this.jitThreshold = Math.min(Math.max(opts.jitThreshold ?? JIT_HOT, 1), HEAD_HOT);
    this.mem = opts.mem;
    this.reservations = opts.reservations ?? new ReservationSet();
    this.resvId = this.reservations.register();
    this.readTime = opts.readTime ?? (() => this.hostTime);
    this.aia = new A.HartAia(opts.geilen ?? 0, opts.imsicIds ?? 255);
    this.ctx = {
      v: 1,
      priv: C.PRV_S,
      s1Mode: 0,
      s1Root: 0,
      gMode: 0,
      gRoot: 0,
      sum: false,
      mxr: false,
      hsMxr: false,
      hwAd: opts.hardwareAd ?? true,
    };
    this.mmu = new Mmu(this.mem, this.ctx, this.pending);
    this.updateContext();
  }

  // ---- host-facing register access (ONE_REG, migration) ----

  /** The pc as an unsigned 64-bit value. */
  get pc(): bigint {
    return BigInt.asUintN(64, BigInt(this.pcNum));
  }
  /** Set the pc from a 64-bit value. */
  set pc(v: bigint) {
    this.pcNum = sx(v);
  }

  /** Read x[i]. */
  getX(i: number): bigint {
    checkReg(i, 'getX');
    return this.x[i]!;
  }
  /** Write x[i]; writes to x0 are dropped. */
  setX(i: number, v: bigint): void {
    checkReg(i, 'setX');
    if (i !== 0) this.x[i] = BigInt.asIntN(64, v);
  }
  /** Raw 64-bit contents of f[i]. */
  getF(i: number): bigint {
    checkReg(i, 'getF');
    return (BigInt(this.f[2 * i + 1]!) << 32n) | BigInt(this.f[2 * i]!);
  }
  /** Write the raw 64-bit contents of f[i]. */
  setF(i: number, v: bigint): void {
    checkReg(i, 'setF');
    this.f[2 * i] = Number(v & 0xffffffffn);
    this.f[2 * i + 1] = Number((v >> 32n) & 0xffffffffn);
  }

  /** Enter a mode: (PRV_S, 1) = VS as KVM runs guests, (PRV_U, 1) = VU. */
  setMode(priv: number, v: number): void {
    if ((priv !== C.PRV_S && priv !== C.PRV_U) || (v !== 0 && v !== 1))
      fail('EINVAL', `mode priv=${priv} v=${v} is not S/U with V in {0,1}`, 'setMode');
    this.priv = priv;
    this.v = v;
    this.updateContext();
  }

  /** Read a CSR by number (HS view: 0x1xx are HS registers, 0x2xx the VS copies). */
  getCsr(num: number): bigint {
    if (!CSRS.has(num)) fail('ENOENT', `no CSR 0x${num.toString(16)}`, 'getCsr');
    return this.csrRead(num);
  }

  /** Write a CSR by number with the register's WARL rules; read-only ones give EINVAL. */
  setCsr(num: number, v: bigint): void {
    if (!CSRS.has(num)) fail('ENOENT', `no CSR 0x${num.toString(16)}`, 'setCsr');
    if (num === C.CSR_CYCLE || num === C.CSR_INSTRET) {
      this.instret = Number(BigInt.asUintN(53, v));
      return;
    }
    if (num >>> 10 === 3) fail('EINVAL', `CSR 0x${num.toString(16)} is read-only`, 'setCsr');
    this.csrWrite(num, BigInt.asUintN(64, v));
  }

  /**
   * Back to the reset state (registers zero, CSRs at their reset values, VS
   * mode), as KVM resets a vCPU before an SBI HSM hart_start; the caller then
   * sets pc, a0 and a1.
   */
  reset(): void {
    this.resetBlob ??= saveHart(new Hart({ mem: this.mem }));
    restoreHart(this, this.resetBlob);
    this.flushCodeCache();
  }

  /** The architectural state as a versioned blob (see snapshot.ts). */
  save(): Uint8Array {
    return saveHart(this);
  }

  /** Restore from save(); EINVAL for a bad blob, leaving the hart unchanged. */
  restore(blob: Uint8Array): void {
    restoreHart(this, blob);
    this.flushCodeCache();
  }

  // ---- TLB maintenance for the KVM MMU ----

  /** G-stage tables changed (unmap, write-protect): drop every combined translation of `vmid` (all if omitted). */
  flushGStage(vmid?: number): void {
    this.tlb.flush(1, vmid, undefined);
    this.fPage = Number.NaN;
  }

  /** Drop every cached translation of every context. */
  flushAllTlb(): void {
    this.tlb.flushEverything();
    this.fPage = Number.NaN;
  }

  /** Compiled blocks currently cached (diagnostics and tests). */
  get compiledBlocks(): number {
    let n = 0;
    for (const b of this.blocks.values()) if (b !== null) n++;
    return n;
  }

  /**
   * Drop every compiled block: FENCE.I (this hart's, or a remote one through
   * SBI RFENCE), or the host changed guest code behind the hart's back. A TLB
   * flush does not need it: blocks are found by pc and checked against where
   * the fetch translation now puts their bytes.
   */
  flushCodeCache(): void {
    this.blocks.clear();
    this.heat.fill(0);
  }

  // ---- interrupts ----

  /** hip as hardware computes it: hvip, the Sstc VS timer, and the guest interrupt files (VSEIP via VGEIN, SGEIP). */
  hip(): number {
    let p = this.hvip & C.VS_INTERRUPTS;
    if (this.aia.hgeip !== 0) p |= this.aia.hipBits(this.hstatus);
    if ((this.henvcfg & C.ENVCFG_STCE) !== 0n && this.vsTime() >= this.vstimecmp) p |= C.MIP_VSTIP;
    return p;
  }

  private vsTime(): bigint {
    return BigInt.asUintN(64, this.readTime() + this.htimedelta);
  }

  /** Set or clear hvip bits (VSSIP/VSTIP/VSEIP), as KVM injects interrupts. */
  setInterrupt(bit: number, level: boolean): void {
    const m = 1 << bit;
    if ((m & C.VS_INTERRUPTS) === 0) fail('EINVAL', `irq ${bit} is not a VS interrupt`, 'setInterrupt');
    this.hvip = level ? this.hvip | m : this.hvip & ~m;
  }

  // ---- run ----

  /**
   * Run the guest until a trap goes to HS or `budget` instructions retire.
   * The hart stays in the guest mode, at the trapping pc, for the next run().
   */
  run(budget: number): HartExit {
    if (!Number.isSafeInteger(budget) || budget < 0) fail('EINVAL', `budget ${budget} is not a count`, 'run');
    this.exitRec = undefined;
    this.compileCharge = 0;
    let done = 0;
    let rounds = 0;
    for (;;) {
      if (this.checkInterrupts()) break;
      if (done + this.compileCharge >= budget || rounds >= budget) {
        this.exitRec = this.record('budget', -1, false, 0n, 0n, 0n, false);
        break;
      }
      done += this.exec(Math.min(budget - done - this.compileCharge, CHUNK));
      rounds++; // a trap storm that retires nothing still ends
      if (this.exitRec !== undefined) break;
    }
    const r = this.exitRec!;
    r.retired = done;
    r.charged = done + this.compileCharge;
    return r;
  }

  /** Deliver an exception into the guest's VS trap handler, as kvm_riscv_vcpu_trap_redirect(). */
  redirectTrap(cause: number, tval: bigint): void {
    if (!Number.isInteger(cause) || cause < 0 || cause > 63)
      fail('EINVAL', `exception cause ${cause} out of range`, 'redirectTrap');
    this.deliverVS(cause, false, BigInt.asUintN(64, tval));
  }

  private exec(n: number): number {
    const x = this.x32;
    const set = this.set;
    const rw = set.ways[ACC_READ];
    const ww = set.ways[ACC_WRITE];
    const rTagLo = rw.tagLo;
    const rTagHi = rw.tagHi;
    const rBase = rw.base;
    const rMem = rw.mem;
    const wTagLo = ww.tagLo;
    const wTagHi = ww.tagHi;
    const wBase = ww.base;
    const wMem = ww.mem;
    const wHpa = ww.hpa;
    const resv = this.reservations;
    const rvc = RVC_TABLE;
    let fPage = this.fPage;
    let fU16 = this.fU16;
    let fBase = this.fBase;
    let pc = this.pcNum;
    let i = 0;
    const blocks = this.blocks;
    const jit = this.jit;
    const heat = this.heat;
    /** A head is compiled on its threshold-th visit. */
    const threshold = this.jitThreshold - 1;
    /** The compiled block running, for a trap inside it. */
    let blk: JitBlock | undefined;
    /** pc is a block head: the chunk's start, or where a branch, jump or block went. */
    let head = true;
    try {
      loop: while (i < n) {
        let raw: number;
        const off = pc - fPage;
        if (head && jit && off >= 0 && off < 4094) {
          head = false;
          const hx = (pc >>> 1) & (HEAD_SLOTS - 1);
          const hv = heat[hx]!;
          let b: JitBlock | null | undefined;
          if (hv >= threshold) {
            b = blocks.get(pc);
            if (b === undefined || (b !== null && (b.u16 !== fU16 || b.hoff !== fBase + off))) {
              b = this.compileAt(pc, fU16, fBase + off, off);
              heat[hx] = HEAD_HOT;
            }
          } else heat[hx] = hv + 1;
          if (b != null && i + b.n <= n) {
            blk = b;
            pc = b.fn(
              x,
              rTagLo,
              rTagHi,
              rBase,
              rMem,
              wTagLo,
              wTagHi,
              wBase,
              wMem,
              wHpa,
              resv,
              this,
              JIT_LIB,
              n - i,
            );
            blk = undefined;
            i += b.loop ? b.n * this.jitLoops : b.n;
            head = true;
            continue;
          }
        }
        if (off >= 0 && off < 4094) {
          const h = (fBase + off) >>> 1;
          raw = fU16[h]!;
          if ((raw & 3) === 3) raw |= fU16[h + 1]! << 16;
        } else {
          raw = this.fetchSlow(pc);
          fPage = this.fPage;
          fU16 = this.fU16;
          fBase = this.fBase;
        }
        let insn = raw;
        let len = 4;
        if ((raw & 3) !== 3) {
          insn = rvc[raw]!;
          len = 2;
          if (insn === 0) this.illegal(raw);
        }
        let npc = pc + len;
        const rd = (insn >> 7) & 31;
        let lo = 0;
        let hi = 0;
        switch (insn & 0x7f) {
          case 0x13: {
            // OP-IMM
            const r1 = (insn >> 14) & 62;
            const imm = insn >> 20;
            const alo = x[r1]!;
            const ahi = x[r1 + 1]!;
            switch ((insn >> 12) & 7) {
              case 0:
                lo = (alo + imm) | 0;
                hi = (ahi + (imm >> 31) + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
                break;
              case 1: {
                if (insn >>> 26 !== 0) this.illegal(raw);
                const sh = imm & 63;
                if (sh === 0) {
                  lo = alo;
                  hi = ahi;
                } else if (sh < 32) {
                  hi = (ahi << sh) | (alo >>> (32 - sh));
                  lo = alo << sh;
                } else {
                  hi = alo << (sh - 32);
                  lo = 0;
                }
                break;
              }
              case 2: {
                const ih = imm >> 31;
                lo = ahi < ih || (ahi === ih && alo >>> 0 < imm >>> 0) ? 1 : 0;
                break;
              }
              case 3: {
                const ih = imm >> 31;
                lo = ahi >>> 0 < ih >>> 0 || (ahi === ih && alo >>> 0 < imm >>> 0) ? 1 : 0;
                break;
              }
              case 4:
                lo = alo ^ imm;
                hi = ahi ^ (imm >> 31);
                break;
              case 5: {
                const top = insn >>> 26;
                const sh = imm & 63;
                if (top !== 0 && top !== 0x10) this.illegal(raw);
                if (sh === 0) {
                  lo = alo;
                  hi = ahi;
                } else if (sh < 32) {
                  lo = (alo >>> sh) | (ahi << (32 - sh));
                  hi = top === 0 ? ahi >>> sh : ahi >> sh;
                } else {
                  lo = top === 0 ? ahi >>> (sh - 32) : ahi >> (sh - 32);
                  hi = top === 0 ? 0 : ahi >> 31;
                }
                break;
              }
              case 6:
                lo = alo | imm;
                hi = ahi | (imm >> 31);
                break;
              default:
                lo = alo & imm;
                hi = ahi & (imm >> 31);
                break;
            }
            break;
          }
          case 0x33: {
            // OP
            const r1 = (insn >> 14) & 62;
            const r2 = (insn >> 19) & 62;
            const alo = x[r1]!;
            const ahi = x[r1 + 1]!;
            const blo = x[r2]!;
            const bhi = x[r2 + 1]!;
            const f7 = insn >>> 25;
            const f3 = (insn >> 12) & 7;
            if (f7 === 0) {
              switch (f3) {
                case 0:
                  lo = (alo + blo) | 0;
                  hi = (ahi + bhi + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
                  break;
                case 1: {
                  const sh = blo & 63;
                  if (sh === 0) {
                    lo = alo;
                    hi = ahi;
                  } else if (sh < 32) {
                    hi = (ahi << sh) | (alo >>> (32 - sh));
                    lo = alo << sh;
                  } else {
                    hi = alo << (sh - 32);
                    lo = 0;
                  }
                  break;
                }
                case 2:
                  lo = ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
                  break;
                case 3:
                  lo = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
                  break;
                case 4:
                  lo = alo ^ blo;
                  hi = ahi ^ bhi;
                  break;
                case 5: {
                  const sh = blo & 63;
                  if (sh === 0) {
                    lo = alo;
                    hi = ahi;
                  } else if (sh < 32) {
                    lo = (alo >>> sh) | (ahi << (32 - sh));
                    hi = ahi >>> sh;
                  } else {
                    lo = ahi >>> (sh - 32);
                    hi = 0;
                  }
                  break;
                }
                case 6:
                  lo = alo | blo;
                  hi = ahi | bhi;
                  break;
                default:
                  lo = alo & blo;
                  hi = ahi & bhi;
                  break;
              }
            } else if (f7 === 0x20) {
              if (f3 === 0) {
                lo = (alo - blo) | 0;
                hi = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
              } else if (f3 === 5) {
                const sh = blo & 63;
                if (sh === 0) {
                  lo = alo;
                  hi = ahi;
                } else if (sh < 32) {
                  lo = (alo >>> sh) | (ahi << (32 - sh));
                  hi = ahi >> sh;
                } else {
                  lo = ahi >> (sh - 32);
                  hi = ahi >> 31;
                }
              } else this.illegal(raw);
            } else if (f7 === 1) {
              const t = this.tmp;
              this.mulDiv(f3, alo, ahi, blo, bhi);
              lo = t[0]!;
              hi = t[1]!;
            } else this.illegal(raw);
            break;
          }
          case 0x1b: {
            // OP-IMM-32
            const alo = x[(insn >> 14) & 62]!;
            const f3 = (insn >> 12) & 7;
            const sh = (insn >> 20) & 31;
            const top = insn >>> 25;
            if (f3 === 0) lo = (alo + (insn >> 20)) | 0;
            else if (f3 === 1 && top === 0) lo = alo << sh;
            else if (f3 === 5 && top === 0) lo = (alo >>> sh) | 0;
            else if (f3 === 5 && top === 0x20) lo = alo >> sh;
            else this.illegal(raw);
            hi = lo >> 31;
            break;
          }
          case 0x3b: {
            // OP-32
            const alo = x[(insn >> 14) & 62]!;
            const blo = x[(insn >> 19) & 62]!;
            const f3 = (insn >> 12) & 7;
            const f7 = insn >>> 25;
            if (f7 === 0 && f3 === 0) lo = (alo + blo) | 0;
            else if (f7 === 0 && f3 === 1) lo = alo << (blo & 31);
            else if (f7 === 0 && f3 === 5) lo = (alo >>> (blo & 31)) | 0;
            else if (f7 === 0x20 && f3 === 0) lo = (alo - blo) | 0;
            else if (f7 === 0x20 && f3 === 5) lo = alo >> (blo & 31);
            else if (f7 === 1 && f3 === 0) lo = Math.imul(alo, blo);
            else if (f7 === 1 && f3 >= 4) lo = div32(alo, blo, (f3 & 1) === 0, f3 >= 6);
            else this.illegal(raw);
            hi = lo >> 31;
            break;
          }
          case 0x37:
            lo = insn & 0xfffff000;
            hi = lo >> 31;
            break;
          case 0x17: {
            const t = pc + (insn & 0xfffff000);
            lo = t | 0;
            hi = Math.floor(t / TWO32) | 0;
            break;
          }
          case 0x6f: {
            head = true;
            const imm =
              ((insn >> 31) << 20) |
              (((insn >>> 12) & 0xff) << 12) |
              (((insn >>> 20) & 1) << 11) |
              (((insn >>> 21) & 0x3ff) << 1);
            lo = npc | 0;
            hi = Math.floor(npc / TWO32) | 0;
            npc = pc + imm;
            break;
          }
          case 0x67: {
            head = true;
            if ((insn & 0x7000) !== 0) this.illegal(raw);
            const r1 = (insn >> 14) & 62;
            const imm = insn >> 20;
            const alo = x[r1]!;
            const tlo = (alo + imm) | 0;
            const thi = (x[r1 + 1]! + (imm >> 31) + (tlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
            lo = npc | 0;
            hi = Math.floor(npc / TWO32) | 0;
            npc = thi * TWO32 + ((tlo & ~1) >>> 0);
            break;
          }
          case 0x63: {
            head = true;
            const r1 = (insn >> 14) & 62;
            const r2 = (insn >> 19) & 62;
            const alo = x[r1]!;
            const ahi = x[r1 + 1]!;
            const blo = x[r2]!;
            const bhi = x[r2 + 1]!;
            let taken: boolean;
            switch ((insn >> 12) & 7) {
              case 0:
                taken = alo === blo && ahi === bhi;
                break;
              case 1:
                taken = alo !== blo || ahi !== bhi;
                break;
              case 4:
                taken = ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0);
                break;
              case 5:
                taken = !(ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0));
                break;
              case 6:
                taken = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0);
                break;
              case 7:
                taken = !(ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0));
                break;
              default:
                return this.illegal(raw);
            }
            if (taken)
              npc =
                pc +
                (((insn >> 31) << 12) |
                  (((insn >>> 7) & 1) << 11) |
                  (((insn >>> 25) & 0x3f) << 5) |
                  (((insn >>> 8) & 0xf) << 1));
            pc = npc;
            i++;
            continue loop;
          }
          case 0x03: {
            // LOAD: a TLB hit on an aligned access is one typed-array read.
            const r1 = (insn >> 14) & 62;
            const imm = insn >> 20;
            const alo = x[r1]!;
            const vlo = (alo + imm) | 0;
            const vhi = (x[r1 + 1]! + (imm >> 31) + (vlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
            const e = (vlo >>> 12) & TLB_MASK;
            const f3 = (insn >> 12) & 7;
            if (rTagLo[e] === (vlo & -4096) && rTagHi[e] === vhi) {
              const m = rMem[e]!;
              const p = rBase[e]! + (vlo & 4095);
              switch (f3) {
                case 3:
                  if ((p & 7) !== 0) break;
                  lo = m.i32[p >>> 2]!;
                  hi = m.i32[(p >>> 2) + 1]!;
                  if (rd !== 0) {
                    x[rd << 1] = lo;
                    x[(rd << 1) + 1] = hi;
                  }
                  pc = npc;
                  i++;
                  continue loop;
                case 2:
                case 6:
                  if ((p & 3) !== 0) break;
                  lo = m.i32[p >>> 2]!;
                  hi = f3 === 2 ? lo >> 31 : 0;
                  if (rd !== 0) {
                    x[rd << 1] = lo;
                    x[(rd << 1) + 1] = hi;
                  }
                  pc = npc;
                  i++;
                  continue loop;
                case 0:
                  lo = m.i8[p]!;
                  hi = lo >> 31;
                  if (rd !== 0) {
                    x[rd << 1] = lo;
                    x[(rd << 1) + 1] = hi;
                  }
                  pc = npc;
                  i++;
                  continue loop;
                case 4:
                  lo = m.u8[p]!;
                  if (rd !== 0) {
                    x[rd << 1] = lo;
                    x[(rd << 1) + 1] = 0;
                  }
                  pc = npc;
                  i++;
                  continue loop;
                case 1:
                case 5:
                  if ((p & 1) !== 0) break;
                  lo = f3 === 1 ? m.i16[p >>> 1]! : m.u16[p >>> 1]!;
                  hi = lo >> 31;
                  if (rd !== 0) {
                    x[rd << 1] = lo;
                    x[(rd << 1) + 1] = hi;
                  }
                  pc = npc;
                  i++;
                  continue loop;
              }
            }
            this.loadInt(vlo, vhi, f3, rd, insn, raw, len);
            pc = npc;
            i++;
            continue loop;
          }
          case 0x23: {
            // STORE
            const r1 = (insn >> 14) & 62;
            const r2 = (insn >> 19) & 62;
            const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
            const alo = x[r1]!;
            const vlo = (alo + imm) | 0;
            const vhi = (x[r1 + 1]! + (imm >> 31) + (vlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
            const e = (vlo >>> 12) & TLB_MASK;
            const f3 = (insn >> 12) & 7;
            if (wTagLo[e] === (vlo & -4096) && wTagHi[e] === vhi) {
              const m = wMem[e]!;
              const p = wBase[e]! + (vlo & 4095);
              let ok = true;
              switch (f3) {
                case 3:
                  if ((p & 7) !== 0) ok = false;
                  else {
                    m.i32[p >>> 2] = x[r2]!;
                    m.i32[(p >>> 2) + 1] = x[r2 + 1]!;
                  }
                  break;
                case 2:
                  if ((p & 3) !== 0) ok = false;
                  else m.i32[p >>> 2] = x[r2]!;
                  break;
                case 1:
                  if ((p & 1) !== 0) ok = false;
                  else m.i16[p >>> 1] = x[r2]!;
                  break;
                case 0:
                  m.u8[p] = x[r2]!;
                  break;
                default:
                  ok = false;
              }
              if (ok) {
                if (resv.active !== 0) resv.store(wHpa[e]! + (vlo & 4095), 1 << f3);
                pc = npc;
                i++;
                continue loop;
              }
            }
            this.storeInt(vlo, vhi, f3, r2, insn, raw, len);
            pc = npc;
            i++;
            continue loop;
          }
          case 0x0f: {
            const f3 = (insn >> 12) & 7;
            if (f3 === 1) {
              // fence.i: drop the compiled blocks and end the chunk so the
              // next fetch re-reads through the TLB.
              this.flushCodeCache();
              pc = npc;
              i++;
              break loop;
            }
            if (f3 !== 0) this.illegal(raw);
            pc = npc;
            i++;
            continue loop;
          }
          case 0x2f:
            this.amo(insn, raw, len);
            pc = npc;
            i++;
            continue loop;
          case 0x73:
            this.inflight = i; // instructions retired so far in this chunk, for instret reads
            pc = this.system(insn, raw, pc, len);
            i++;
            break loop;
          case 0x07:
          case 0x27:
            this.fpMem(insn, raw, len);
            pc = npc;
            i++;
            continue loop;
          case 0x43:
          case 0x47:
          case 0x4b:
          case 0x4f:
          case 0x53:
            this.fpOp(insn, raw);
            pc = npc;
            i++;
            continue loop;
          default:
            this.illegal(raw);
        }
        if (rd !== 0) {
          x[rd << 1] = lo;
          x[(rd << 1) + 1] = hi;
        }
        pc = npc;
        i++;
      }
    } catch (e) {
      this.inflight = 0;
      if (e !== TRAP) throw e;
      if (blk !== undefined) {
        // A trap inside a compiled block: its earlier instructions retired.
        pc = blk.pcs[this.jitIndex]!;
        i += (blk.loop ? blk.n * this.jitLoops : 0) + this.jitIndex;
      }
      this.pcNum = pc;
      this.instret += i;
      this.takeTrap();
      return i;
    }
    this.inflight = 0;
    this.pcNum = pc;
    this.instret += i;
    return i;
  }

  /** Compile the block at a hot head (or recompile one whose bytes now come from elsewhere). */
  private compileAt(pc: number, u16: Uint16Array, hoff: number, pageOff: number): JitBlock | null {
    this.compileCharge += JIT_COMPILE_CHARGE;
    // A bounded cache: a guest that keeps reaching new code starts over rather than grow without end.
    if (this.blocks.size >= JIT_MAX_BLOCKS) this.blocks.clear();
    const b = compileBlock(u16, hoff, pc, pageOff, RVC_TABLE) ?? null;
    this.blocks.set(pc, b);
    return b;
  }

  private mulDiv(f3: number, alo: number, ahi: number, blo: number, bhi: number): void {
    const t = this.tmp;
    switch (f3) {
      case 0:
        mul64(alo, ahi, blo, bhi, t);
        break;
      case 1:
        mulh64(alo, ahi, blo, bhi, t);
        break;
      case 2:
        mulhsu64(alo, ahi, blo, bhi, t);
        break;
      case 3:
        mulhu64(alo, ahi, blo, bhi, t);
        break;
      default:
        div64(alo, ahi, blo, bhi, (f3 & 1) === 0, f3 >= 6, t);
    }
  }

  // ---- fetch ----

  private fetchSlow(pc: number): number {
    const lo = pc | 0;
    const hi = Math.floor(pc / TWO32) | 0;
    const e = this.entry(lo, hi, ACC_EXEC, 0);
    const w = this.set.ways[ACC_EXEC];
    const m = w.mem[e]!;
    const off = lo & 4095;
    this.fPage = pc - off;
    this.fU16 = m.u16;
    this.fBase = w.base[e]!;
    const h = (this.fBase + off) >>> 1;
    let raw = m.u16[h]!;
    if ((raw & 3) === 3) {
      if (off < 4094) raw |= m.u16[h + 1]! << 16;
      else {
        // The upper half lives on the next page.
        const nlo = (lo + 2) | 0;
        const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
        const e2 = this.entry(nlo, nhi, ACC_EXEC, 0);
        raw |= w.mem[e2]!.u16[w.base[e2]! >>> 1]! << 16;
        this.fPage = Number.NaN; // the cached entry may have been replaced
      }
    }
    return raw;
  }

  /** The TLB entry for (lo, hi) and access kind, translating on a miss. */
  private entry(lo: number, hi: number, acc: number, htinst: number): number {
    const w = this.set.ways[acc]!;
    const e = (lo >>> 12) & TLB_MASK;
    if (w.tagLo[e] === (lo & -4096) && w.tagHi[e] === hi) return e;
    return this.mmu.translate(this.set, lo, hi, acc, htinst);
  }

  // ---- loads and stores (slow paths) ----

  /** Load `size` bytes at (lo, hi) into tmp[0..1], zero-extended. Misaligned accesses are done bytewise. */
  private load(lo: number, hi: number, size: number, htinst: number): void {
    const t = this.tmp;
    const off = lo & 4095;
    const w = this.set.ways[ACC_READ];
    if (off + size <= 4096) {
      const e = this.entry(lo, hi, ACC_READ, htinst);
      const m = w.mem[e]!;
      const p = w.base[e]! + off;
      if ((off & (size - 1)) === 0) {
        if (size === 8) {
          t[0] = m.i32[p >>> 2]!;
          t[1] = m.i32[(p >>> 2) + 1]!;
          return;
        }
        t[0] = size === 4 ? m.i32[p >>> 2]! : size === 2 ? m.u16[p >>> 1]! : m.u8[p]!;
        t[1] = 0;
        return;
      }
      let a = 0;
      let b = 0;
      for (let k = 0; k < size; k++) {
        const byte = m.u8[p + k]!;
        if (k < 4) a |= byte << (8 * k);
        else b |= byte << (8 * (k - 4));
      }
      t[0] = a;
      t[1] = b;
      return;
    }
    // Crosses a page: translate both pages before reading.
    const nlo = (lo + size - 1) | 0;
    const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
    this.entry(lo, hi, ACC_READ, htinst);
    this.entry(nlo, nhi, ACC_READ, htinst);
    let a = 0;
    let b = 0;
    for (let k = 0; k < size; k++) {
      const blo = (lo + k) | 0;
      const bhi = (hi + (blo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
      const e = this.entry(blo, bhi, ACC_READ, htinst);
      const byte = w.mem[e]!.u8[w.base[e]! + (blo & 4095)]!;
      if (k < 4) a |= byte << (8 * k);
      else b |= byte << (8 * (k - 4));
    }
    t[0] = a;
    t[1] = b;
  }

  /** Store `size` bytes of (vlo, vhi) at (lo, hi); breaks reservations on the bytes written. */
  private store(lo: number, hi: number, size: number, vlo: number, vhi: number, htinst: number): void {
    const off = lo & 4095;
    const w = this.set.ways[ACC_WRITE];
    const resv = this.reservations;
    if (off + size <= 4096) {
      const e = this.entry(lo, hi, ACC_WRITE, htinst);
      const m = w.mem[e]!;
      const p = w.base[e]! + off;
      if ((off & (size - 1)) === 0 && size >= 4) {
        m.i32[p >>> 2] = vlo;
        if (size === 8) m.i32[(p >>> 2) + 1] = vhi;
      } else {
        for (let k = 0; k < size; k++) m.u8[p + k] = k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4));
      }
      if (resv.active !== 0) resv.store(w.hpa[e]! + off, size);
      return;
    }
    // Crosses a page: both translations must succeed before any byte is written.
    const nlo = (lo + size - 1) | 0;
    const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
    this.entry(lo, hi, ACC_WRITE, htinst);
    this.entry(nlo, nhi, ACC_WRITE, htinst);
    for (let k = 0; k < size; k++) {
      const blo = (lo + k) | 0;
      const bhi = (hi + (blo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
      const e = this.entry(blo, bhi, ACC_WRITE, htinst);
      w.mem[e]!.u8[w.base[e]! + (blo & 4095)] = k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4));
      if (resv.active !== 0) resv.store(w.hpa[e]! + (blo & 4095), 1);
    }
  }

  private loadInt(
    lo: number,
    hi: number,
    f3: number,
    rd: number,
    insn: number,
    raw: number,
    len: number,
  ): void {
    if (f3 === 7) this.illegal(raw);
    const size = 1 << (f3 & 3);
    this.load(lo, hi, size, htinstLoad(insn, len));
    const t = this.tmp;
    let a = t[0]!;
    let b = t[1]!;
    if (f3 === 0) a = (a << 24) >> 24;
    else if (f3 === 1) a = (a << 16) >> 16;
    if (f3 <= 2) b = a >> 31;
    if (rd !== 0) {
      this.x32[rd << 1] = a;
      this.x32[(rd << 1) + 1] = b;
    }
  }

  private storeInt(
    lo: number,
    hi: number,
    f3: number,
    r2: number,
    insn: number,
    raw: number,
    len: number,
  ): void {
    if (f3 > 3) this.illegal(raw);
    this.store(lo, hi, 1 << f3, this.x32[r2]!, this.x32[r2 + 1]!, htinstStore(insn, len));
  }

  // ---- A extension ----

  private amo(insn: number, raw: number, len: number): void {
    const f3 = (insn >> 12) & 7;
    if (f3 !== 2 && f3 !== 3) this.illegal(raw);
    const size = f3 === 2 ? 4 : 8;
    const f5 = insn >>> 27;
    const rd = (insn >> 7) & 31;
    const r1 = (insn >> 14) & 62;
    const r2 = (insn >> 19) & 62;
    const x = this.x32;
    const lo = x[r1]!;
    const hi = x[r1 + 1]!;
    const ht = insn & 0xfff07fff & (len === 2 ? ~2 : ~0);
    if (f5 === 2) {
      // LR: rs2 must be 0.
      if (r2 !== 0) this.illegal(raw);
      if ((lo & (size - 1)) !== 0) this.raise(C.EXC_LOAD_MISALIGNED, lo, hi);
      const e = this.entry(lo, hi, ACC_READ, ht);
      const w = this.set.ways[ACC_READ];
      const p = w.base[e]! + (lo & 4095);
      const m = w.mem[e]!.i32;
      const a = m[p >>> 2]!;
      const b = size === 8 ? m[(p >>> 2) + 1]! : a >> 31;
      this.reservations.reserve(this.resvId, w.hpa[e]! + (lo & 4095));
      if (rd !== 0) {
        x[rd << 1] = a;
        x[(rd << 1) + 1] = b;
      }
      return;
    }
    if (f5 !== 3 && !AMO_OPS.has(f5)) this.illegal(raw);
    if ((lo & (size - 1)) !== 0) this.raise(C.EXC_STORE_MISALIGNED, lo, hi);
    const e = this.entry(lo, hi, ACC_WRITE, ht);
    const w = this.set.ways[ACC_WRITE];
    const p = w.base[e]! + (lo & 4095);
    const hpa = w.hpa[e]! + (lo & 4095);
    const m = w.mem[e]!.i32;
    const i = p >>> 2;
    const blo = x[r2]!;
    const bhi = x[r2 + 1]!;
    const resv = this.reservations;
    if (f5 === 3) {
      // SC: succeeds only while this hart still holds the reservation.
      const ok = resv.holds(this.resvId, hpa);
      resv.clear(this.resvId);
      if (ok) {
        m[i] = blo;
        if (size === 8) m[i + 1] = bhi;
        if (resv.active !== 0) resv.store(hpa, size);
      }
      if (rd !== 0) {
        x[rd << 1] = ok ? 0 : 1;
        x[(rd << 1) + 1] = 0;
      }
      return;
    }
    const alo = m[i]!;
    const ahi = size === 8 ? m[i + 1]! : alo >> 31;
    let nlo: number;
    let nhi: number;
    switch (f5) {
      case 1:
        nlo = blo;
        nhi = bhi;
        break;
      case 0:
        nlo = (alo + blo) | 0;
        nhi = (ahi + bhi + (nlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
        break;
      case 4:
        nlo = alo ^ blo;
        nhi = ahi ^ bhi;
        break;
      case 0xc:
        nlo = alo & blo;
        nhi = ahi & bhi;
        break;
      case 8:
        nlo = alo | blo;
        nhi = ahi | bhi;
        break;
      default: {
        const bh = size === 8 ? bhi : blo >> 31;
        const signed = f5 === 0x10 || f5 === 0x14;
        const ah = signed ? ahi : ahi >>> 0;
        const bb = signed ? bh : bh >>> 0;
        const less = ah < bb || (ahi === bh && alo >>> 0 < blo >>> 0);
        const takeA = f5 === 0x10 || f5 === 0x18 ? less : !less;
        nlo = takeA ? alo : blo;
        nhi = takeA ? ahi : bhi;
      }
    }
    m[i] = nlo;
    if (size === 8) m[i + 1] = nhi;
    if (resv.active !== 0) resv.store(hpa, size);
    if (rd !== 0) {
      x[rd << 1] = alo;
      x[(rd << 1) + 1] = ahi;
    }
  }

  // ---- F/D: loads and stores here, arithmetic in src/fpu ----

  private fpOff(): boolean {
    return (this.mstatus & C.SR_FS) === 0 || (this.v === 1 && (this.vsstatus & C.SR_FS) === 0);
  }

  private markFsDirty(): void {
    this.mstatus |= C.SR_FS_DIRTY;
    if (this.v === 1) this.vsstatus |= C.SR_FS_DIRTY;
  }

  private fpMem(insn: number, raw: number, len: number): void {
    const f3 = (insn >> 12) & 7;
    if ((f3 !== 2 && f3 !== 3) || this.fpOff()) this.illegal(raw);
    const r1 = (insn >> 14) & 62;
    const x = this.x32;
    const alo = x[r1]!;
    const isLoad = (insn & 0x7f) === 0x07;
    const imm = isLoad ? insn >> 20 : ((insn >> 25) << 5) | ((insn >>> 7) & 31);
    const lo = (alo + imm) | 0;
    const hi = (x[r1 + 1]! + (imm >> 31) + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
    const size = f3 === 2 ? 4 : 8;
    if (isLoad) {
      const rd = (insn >> 7) & 31;
      this.load(lo, hi, size, htinstLoad(insn, len));
      this.f[2 * rd] = this.tmp[0]!;
      this.f[2 * rd + 1] = size === 8 ? this.tmp[1]! : 0xffffffff; // NaN-box a single
      this.markFsDirty();
    } else {
      const rs2 = (insn >> 20) & 31;
      this.store(lo, hi, size, this.f[2 * rs2]!, this.f[2 * rs2 + 1]!, htinstStore(insn, len));
    }
  }

  private fpOp(insn: number, raw: number): void {
    if (this.fpOff()) this.illegal(raw);
    this.fsDirty = false;
    if (!executeFp(this, insn)) this.illegal(raw);
    if (this.fsDirty) this.markFsDirty();
  }

  // ---- SYSTEM ----

  /** Executes a SYSTEM instruction; returns the next pc. */
  private system(insn: number, raw: number, pc: number, len: number): number {
    const f3 = (insn >> 12) & 7;
    if (f3 === 0) return this.privileged(insn, raw, pc, len);
    if (f3 === 4) {
      this.hypervisorLoadStore(insn, raw);
      return pc + len;
    }
    const csr = insn >>> 20;
    const rs1 = (insn >> 15) & 31;
    const rd = (insn >> 7) & 31;
    const op = f3 & 3;
    const write = op === 1 || rs1 !== 0;
    const num = this.csrCheck(csr, write, raw);
    const old = this.csrRead(num);
    if (write) {
      const src = f3 >= 5 ? BigInt(rs1) : BigInt.asUintN(64, this.x[rs1]!);
      this.csrWrite(num, op === 1 ? src : op === 2 ? old | src : old & ~src & MASK64);
    }
    if (rd !== 0) this.x[rd] = BigInt.asIntN(64, old);
    return pc + len;
  }

  /**
   * HLV/HLVX/HSV: an access from HS (or U with hstatus.HU) made as though
   * V=1 at privilege hstatus.SPVP, through vsatp and hgatp. From V=1 they are
   * virtual instructions; from U without HU, illegal. HLVX needs execute
   * permission and faults as a load.
   */
  private hypervisorLoadStore(insn: number, raw: number): void {
    if (this.v === 1) this.virtualInsn(raw);
    if (this.priv === C.PRV_U && (this.hstatus & C.HSTATUS_HU) === 0) this.illegal(raw);
    const f7 = insn >>> 25;
    const rs2 = (insn >> 20) & 31;
    const rd = (insn >> 7) & 31;
    const size = 1 << ((f7 >> 1) & 3);
    const isStore = (f7 & 1) === 1;
    if ((f7 & 0x78) !== 0x30 || (isStore ? rd !== 0 : rs2 > 3 || rs2 === 2)) this.illegal(raw);
    const hlvx = !isStore && rs2 === 3;
    if ((hlvx && size === 1) || (!isStore && size === 8 && rs2 !== 0)) this.illegal(raw);
    const r1 = (insn >> 14) & 62;
    const lo = this.x32[r1]!;
    const hi = this.x32[r1 + 1]!;
    const priv = this.priv;
    this.v = 1;
    this.priv = (this.hstatus & C.HSTATUS_SPVP) !== 0 ? C.PRV_S : C.PRV_U;
    this.updateContext();
    try {
      if (isStore) {
        this.store(lo, hi, size, this.x32[rs2 << 1]!, this.x32[(rs2 << 1) + 1]!, 0);
        return;
      }
      const t = this.tmp;
      if (hlvx) {
        if ((lo & (size - 1)) !== 0) this.raise(C.EXC_LOAD_MISALIGNED, lo, hi);
        this.mmu.xAsLoad = true;
        const e = this.entry(lo, hi, ACC_EXEC, 0);
        const w = this.set.ways[ACC_EXEC];
        const p = w.base[e]! + (lo & 4095);
        t[0] = size === 4 ? w.mem[e]!.i32[p >>> 2]! : w.mem[e]!.u16[p >>> 1]!;
        t[1] = 0;
      } else this.load(lo, hi, size, 0);
      let a = t[0]!;
      let b = t[1]!;
      const signed = rs2 === 0;
      if (size < 8) b = signed ? (a << (32 - 8 * size)) >> 31 : 0;
      if (size < 4) a = signed ? (a << (32 - 8 * size)) >> (32 - 8 * size) : a;
      if (size === 4 && !signed) b = 0;
      if (rd !== 0) {
        this.x32[rd << 1] = a;
        this.x32[(rd << 1) + 1] = b;
      }
    } finally {
      this.mmu.xAsLoad = false;
      this.v = 0;
      this.priv = priv;
      this.updateContext();
    }
  }

  private privileged(insn: number, raw: number, pc: number, len: number): number {
    const v = this.v;
    const u = this.priv === C.PRV_U;
    switch (insn) {
      case 0x00000073: // ecall
        return this.raiseCause(u ? C.EXC_ECALL_U : v === 1 ? C.EXC_ECALL_VS : C.EXC_ECALL_HS, 0n);
      case 0x00100073: // ebreak
        return this.raiseCause(C.EXC_BREAKPOINT, BigInt.asUintN(64, BigInt(pc)));
      case 0x10200073: {
        // sret
        if (v === 1) {
          if (u || (this.hstatus & C.HSTATUS_VTSR) !== 0) this.virtualInsn(raw);
          const s = this.vsstatus;
          this.priv = (s & C.SR_SPP) !== 0 ? C.PRV_S : C.PRV_U;
          this.vsstatus = ((s & C.SR_SPIE) !== 0 ? s | C.SR_SIE : s & ~C.SR_SIE) | C.SR_SPIE;
          this.vsstatus &= ~C.SR_SPP;
          this.reservations.clear(this.resvId);
          this.updateContext();
          return sx(this.vsepc);
        }
        if (u) this.illegal(raw);
        const s = this.mstatus;
        this.priv = (s & C.SR_SPP) !== 0 ? C.PRV_S : C.PRV_U;
        this.mstatus = (((s & C.SR_SPIE) !== 0 ? s | C.SR_SIE : s & ~C.SR_SIE) | C.SR_SPIE) & ~C.SR_SPP;
        if ((this.hstatus & C.HSTATUS_SPV) !== 0) {
          this.v = 1;
          this.hstatus &= ~C.HSTATUS_SPV;
        }
        this.reservations.clear(this.resvId);
        this.updateContext();
        return sx(this.sepc);
      }
      case 0x10500073: // wfi
        if (u) {
          if (v === 1) this.virtualInsn(raw);
          this.illegal(raw);
        }
        if (v === 1 && (this.hstatus & C.HSTATUS_VTW) !== 0) this.virtualInsn(raw);
        if ((this.hip() & this.hie) === 0 || v === 0) {
          this.pcNum = pc + len;
          this.exitRec = this.record('idle', -1, false, 0n, 0n, 0n, false);
        }
        return pc + len;
    }
    const f7 = insn >>> 25;
    if ((insn & 0x7f80) !== 0) this.illegal(raw); // rd and funct3 must be zero
    const rs1 = (insn >> 15) & 31;
    const rs2 = (insn >> 20) & 31;
    const lo = this.x32[rs1 << 1]!;
    const hi = this.x32[(rs1 << 1) + 1]!;
    if (f7 === 0x09) {
      // sfence.vma
      if (v === 1 && (u || (this.hstatus & C.HSTATUS_VTVM) !== 0)) this.virtualInsn(raw);
      if (u) this.illegal(raw);
      const asid = rs2 === 0 ? undefined : this.x32[rs2 << 1]! & 0xffff;
      const vmid = v === 1 ? this.vmid() : undefined;
      if (rs1 === 0) this.tlb.flush(v, vmid, asid);
      else this.tlb.flush(v, vmid, asid, lo, hi);
    } else if (f7 === 0x11 || f7 === 0x31) {
      // hfence.vvma / hfence.gvma
      if (v === 1) this.virtualInsn(raw);
      if (u) this.illegal(raw);
      if (f7 === 0x11) {
        const asid = rs2 === 0 ? undefined : this.x32[rs2 << 1]! & 0xffff;
        if (rs1 === 0) this.tlb.flush(1, this.vmid(), asid);
        else this.tlb.flush(1, this.vmid(), asid, lo, hi);
      } else {
        // A GPA names no virtual page: drop all of the VMID's combined translations.
        this.tlb.flush(1, rs2 === 0 ? undefined : this.x32[rs2 << 1]! & 0x3fff, undefined);
      }
    } else {
      if (v === 1 && insn === 0x30200073) this.illegal(raw); // mret
      this.illegal(raw);
    }
    this.fPage = Number.NaN;
    return pc + len;
  }

  private vmid(): number {
    return Number((this.hgatp >> 44n) & 0x3fffn);
  }

  /**
   * Privilege checks of a CSR access; returns the register actually accessed
   * (VS aliasing when V=1). Illegal-instruction when the CSR does not exist,
   * is written while read-only or is above the mode even for HS; virtual
   * instruction when HS could access it but V=1 cannot (H spec 9.6).
   */
  private csrCheck(csr: number, write: boolean, raw: number): number {
    if (!CSRS.has(csr)) this.illegal(raw);
    if (write && csr >>> 10 === 3) this.illegal(raw);
    const level = (csr >>> 8) & 3;
    if (level === 3) this.illegal(raw);
    const v = this.v;
    const u = this.priv === C.PRV_U;
    if (v === 0) {
      if (u && level > 0) this.illegal(raw);
    } else if (level === 2 || (level === 1 && u)) this.virtualInsn(raw);
    if (csr >= C.CSR_CYCLE && csr <= C.CSR_HPMCOUNTER31) {
      const bit = csr & 31;
      if (v === 1) {
        if (((this.hcounteren >>> bit) & 1) === 0) this.virtualInsn(raw);
        if (u && ((this.scounteren >>> bit) & 1) === 0) this.virtualInsn(raw);
      } else if (u && ((this.scounteren >>> bit) & 1) === 0) this.illegal(raw);
    }
    if (csr <= C.CSR_FCSR && this.fpOff()) this.illegal(raw);
    if (VS_ALIAS.has(csr) && A.isAiaCsr(VS_ALIAS.get(csr)!)) {
      // AIA: no HS-level IMSIC is modelled (illegal from HS); vsireg/vstopei need a valid VGEIN/vsiselect.
      if (v === 0) this.illegal(raw);
      if (this.aia.accessFault(VS_ALIAS.get(csr)!, this.hstatus)) this.virtualInsn(raw);
    } else if (v === 0 && this.aia.accessFault(csr, this.hstatus)) this.illegal(raw);
    if (v === 1) {
      if (csr === C.CSR_SATP && (this.hstatus & C.HSTATUS_VTVM) !== 0) this.virtualInsn(raw);
      if (
        csr === C.CSR_STIMECMP &&
        ((this.henvcfg & C.ENVCFG_STCE) === 0n || ((this.hcounteren >>> 1) & 1) === 0)
      )
        this.virtualInsn(raw);
      return VS_ALIAS.get(csr) ?? csr;
    }
    return csr;
  }

  private csrRead(num: number): bigint {
    switch (num) {
      case C.CSR_FFLAGS:
        return BigInt(this.fflags);
      case C.CSR_FRM:
        return BigInt(this.frm);
      case C.CSR_FCSR:
        return BigInt((this.frm << 5) | this.fflags);
      case C.CSR_CYCLE:
      case C.CSR_INSTRET:
        return BigInt(this.instret + this.inflight);
      case C.CSR_TIME:
        return this.v === 1 ? this.vsTime() : BigInt.asUintN(64, this.readTime());
      case C.CSR_MSTATUS:
      case C.CSR_SSTATUS:
        return status64(this.mstatus & (num === C.CSR_SSTATUS ? C.SSTATUS_WRITABLE : -1));
      case C.CSR_SIE:
        return BigInt(this.sie);
      case C.CSR_SIP:
        return BigInt(this.sip);
      case C.CSR_STVEC:
        return this.stvec;
      case C.CSR_SCOUNTEREN:
        return BigInt(this.scounteren >>> 0);
      case C.CSR_SENVCFG:
        return this.senvcfg;
      case C.CSR_SSCRATCH:
        return this.sscratch;
      case C.CSR_SEPC:
        return this.sepc;
      case C.CSR_SCAUSE:
        return this.scause;
      case C.CSR_STVAL:
        return this.stval;
      case C.CSR_STIMECMP:
        return this.stimecmp;
      case C.CSR_SATP:
        return this.satp;
      case C.CSR_VSSTATUS:
        return status64(this.vsstatus);
      case C.CSR_VSIE:
        return BigInt((this.hie & this.hideleg & C.VS_INTERRUPTS) >>> 1);
      case C.CSR_VSIP:
        return BigInt((this.hip() & this.hideleg & C.VS_INTERRUPTS) >>> 1);
      case C.CSR_VSTVEC:
        return this.vstvec;
      case C.CSR_VSSCRATCH:
        return this.vsscratch;
      case C.CSR_VSEPC:
        return this.vsepc;
      case C.CSR_VSCAUSE:
        return this.vscause;
      case C.CSR_VSTVAL:
        return this.vstval;
      case C.CSR_VSTIMECMP:
        return this.vstimecmp;
      case C.CSR_VSATP:
        return this.vsatp;
      case C.CSR_HSTATUS:
        return BigInt(this.hstatus >>> 0) | XLEN_FIELD;
      case C.CSR_HEDELEG:
        return BigInt(this.hedeleg);
      case C.CSR_HIDELEG:
        return BigInt(this.hideleg);
      case C.CSR_HIE:
        return BigInt(this.hie);
      case C.CSR_HIP:
        return BigInt(this.hip());
      case C.CSR_HVIP:
        return BigInt(this.hvip);
      case C.CSR_HTIMEDELTA:
        return this.htimedelta;
      case C.CSR_HCOUNTEREN:
        return BigInt(this.hcounteren >>> 0);
      case C.CSR_HENVCFG:
        return this.henvcfg;
      case C.CSR_HTVAL:
        return this.htval;
      case C.CSR_HTINST:
        return this.htinst;
      case C.CSR_HGATP:
        return this.hgatp;
      default:
        return this.aia.read(num, this.hstatus, this.hip() & this.hie & this.hideleg); // AIA CSRs; 0 for hpmcounters
    }
  }

  private csrWrite(num: number, v: bigint): void {
    const lo = Number(v & 0xffffffffn) | 0;
    switch (num) {
      case C.CSR_FFLAGS:
        this.fflags = lo & 31;
        this.markFsDirty();
        return;
      case C.CSR_FRM:
        this.frm = lo & 7;
        this.markFsDirty();
        return;
      case C.CSR_FCSR:
        this.fflags = lo & 31;
        this.frm = (lo >>> 5) & 7;
        this.markFsDirty();
        return;
      case C.CSR_MSTATUS:
      case C.CSR_SSTATUS:
        this.mstatus = (this.mstatus & ~C.SSTATUS_WRITABLE) | (lo & C.SSTATUS_WRITABLE);
        this.updateContext();
        return;
      case C.CSR_SIE:
        this.sie = lo & 0x222;
        return;
      case C.CSR_SIP:
        this.sip = (this.sip & ~2) | (lo & 2);
        return;
      case C.CSR_STVEC:
        this.stvec = v & ~2n;
        return;
      case C.CSR_SCOUNTEREN:
        this.scounteren = lo;
        return;
      case C.CSR_SENVCFG:
        this.senvcfg = v & 1n; // FIOM only
        return;
      case C.CSR_SSCRATCH:
        this.sscratch = v;
        return;
      case C.CSR_SEPC:
        this.sepc = v & ~1n;
        return;
      case C.CSR_SCAUSE:
        this.scause = v;
        return;
      case C.CSR_STVAL:
        this.stval = v;
        return;
      case C.CSR_STIMECMP:
        this.stimecmp = v;
        return;
      case C.CSR_SATP:
        if (!validSatp(v)) return; // unsupported MODE: the write has no effect
        this.satp = v & ((0xfn << 60n) | (0xffffn << 44n) | PPN_MASK);
        this.updateContext();
        return;
      case C.CSR_VSSTATUS:
        this.vsstatus = (this.vsstatus & ~C.SSTATUS_WRITABLE) | (lo & C.SSTATUS_WRITABLE);
        this.updateContext();
        return;
      case C.CSR_VSIE: {
        const m = this.hideleg & C.VS_INTERRUPTS;
        this.hie = (this.hie & ~m) | ((lo << 1) & m);
        return;
      }
      case C.CSR_VSIP:
        if ((this.hideleg & C.MIP_VSSIP) !== 0)
          this.hvip = (this.hvip & ~C.MIP_VSSIP) | ((lo << 1) & C.MIP_VSSIP);
        return;
      case C.CSR_VSTVEC:
        this.vstvec = v & ~2n;
        return;
      case C.CSR_VSSCRATCH:
        this.vsscratch = v;
        return;
      case C.CSR_VSEPC:
        this.vsepc = v & ~1n;
        return;
      case C.CSR_VSCAUSE:
        this.vscause = v;
        return;
      case C.CSR_VSTVAL:
        this.vstval = v;
        return;
      case C.CSR_VSTIMECMP:
        this.vstimecmp = v;
        return;
      case C.CSR_VSATP:
        if (!validSatp(v)) return;
        this.vsatp = v & ((0xfn << 60n) | (0xffffn << 44n) | PPN_MASK);
        this.updateContext();
        return;
      case C.CSR_HSTATUS:
        this.hstatus = lo & (C.HSTATUS_WRITABLE | A.HSTATUS_VGEIN);
        return;
      case C.CSR_HEDELEG:
        this.hedeleg = lo & C.HEDELEG_WRITABLE;
        return;
      case C.CSR_HIDELEG:
        this.hideleg = lo & C.HIDELEG_WRITABLE;
        return;
      case C.CSR_HIE:
        this.hie = lo & (C.VS_INTERRUPTS | C.MIP_SGEIP);
        return;
      case C.CSR_HIP:
        this.hvip = (this.hvip & ~C.MIP_VSSIP) | (lo & C.MIP_VSSIP);
        return;
      case C.CSR_HVIP:
        this.hvip = lo & C.VS_INTERRUPTS;
        return;
      case C.CSR_HTIMEDELTA:
        this.htimedelta = v;
        return;
      case C.CSR_HCOUNTEREN:
        this.hcounteren = lo;
        return;
      case C.CSR_HENVCFG:
        this.henvcfg = v & (C.ENVCFG_STCE | 1n);
        return;
      case C.CSR_HTVAL:
        this.htval = v;
        return;
      case C.CSR_HTINST:
        this.htinst = v;
        return;
      case C.CSR_HGATP: {
        const mode = Number(v >> 60n);
        if (mode !== 0 && mode !== C.HGATP_MODE_SV39X4 && mode !== C.HGATP_MODE_SV48X4) return;
        // VMIDLEN = 14; the x4 root is 16 KiB aligned, so PPN bits 1:0 read as zero.
        this.hgatp = v & ((0xfn << 60n) | (0x3fffn << 44n) | (PPN_MASK & ~3n));
        this.updateContext();
        return;
      }
      default:
        this.aia.write(num, this.hstatus, v); // AIA CSRs (aia.ts)
        return;
    }
  }

  // ---- traps ----

  private illegal(raw: number): never {
    const p = this.pending;
    p.cause = C.EXC_ILLEGAL_INST;
    p.tval = BigInt((raw & 3) === 3 ? raw >>> 0 : raw & 0xffff);
    p.htval = 0n;
    p.htinst = 0;
    p.gva = false;
    throw TRAP;
  }

  private virtualInsn(raw: number): never {
    const p = this.pending;
    p.cause = C.EXC_VIRTUAL_INST;
    p.tval = BigInt((raw & 3) === 3 ? raw >>> 0 : raw & 0xffff);
    p.htval = 0n;
    p.htinst = 0;
    p.gva = false;
    throw TRAP;
  }

  private raise(cause: number, lo: number, hi: number): never {
    const p = this.pending;
    p.cause = cause;
    p.tval = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    p.htval = 0n;
    p.htinst = 0;
    p.gva = this.v === 1;
    throw TRAP;
  }

  private raiseCause(cause: number, tval: bigint): never {
    const p = this.pending;
    p.cause = cause;
    p.tval = tval;
    p.htval = 0n;
    p.htinst = 0;
    p.gva = false;
    throw TRAP;
  }

  /** An exception was raised at pcNum: into the guest if hedeleg says so, else an exit. */
  private takeTrap(): void {
    const p = this.pending;
    const cause = p.cause;
    if (this.v === 1 && ((this.hedeleg >>> cause) & 1) !== 0) {
      this.deliverVS(cause, false, p.tval);
      return;
    }
    let kind: ExitKind = 'exception';
    if (cause === C.EXC_ECALL_U || cause === C.EXC_ECALL_HS || cause === C.EXC_ECALL_VS) kind = 'ecall';
    else if (
      cause === C.EXC_INST_GUEST_PAGE_FAULT ||
      cause === C.EXC_LOAD_GUEST_PAGE_FAULT ||
      cause === C.EXC_STORE_GUEST_PAGE_FAULT
    )
      kind = 'guest-page-fault';
    else if (cause === C.EXC_VIRTUAL_INST) kind = p.tval === 0x10500073n ? 'wfi' : 'virtual-instruction';
    else if (cause === C.EXC_ILLEGAL_INST) kind = 'illegal-instruction';
    this.exitRec = this.record(kind, cause, false, p.tval, p.htval, BigInt(p.htinst), p.gva);
  }

  /** Trap into VS-mode: vsepc/vscause/vstval, vsstatus SPP/SPIE/SIE, pc = vstvec. */
  private deliverVS(code: number, interrupt: boolean, tval: bigint): void {
    this.vsepc = BigInt.asUintN(64, BigInt(this.pcNum));
    this.vscause = interrupt ? (1n << 63n) | BigInt(code) : BigInt(code);
    this.vstval = tval;
    let s = this.vsstatus;
    s = this.priv === C.PRV_S ? s | C.SR_SPP : s & ~C.SR_SPP;
    s = (s & C.SR_SIE) !== 0 ? s | C.SR_SPIE : s & ~C.SR_SPIE;
    this.vsstatus = s & ~C.SR_SIE;
    this.priv = C.PRV_S;
    const base = sx(this.vstvec & ~3n);
    this.pcNum = interrupt && (this.vstvec & 1n) !== 0n ? base + 4 * code : base;
    this.reservations.clear(this.resvId);
    this.updateContext();
  }

  /** The exit record, and the HS CSRs a real trap to HS would have written. */
  private record(
    kind: ExitKind,
    cause: number,
    interrupt: boolean,
    tval: bigint,
    htval: bigint,
    htinst: bigint,
    gva: boolean,
  ): HartExit {
    const pc = BigInt.asUintN(64, BigInt(this.pcNum));
    if (cause >= 0) {
      this.scause = interrupt ? (1n << 63n) | BigInt(cause) : BigInt(cause);
      this.stval = tval;
      this.sepc = pc;
      this.htval = htval;
      this.htinst = htinst;
      let h = this.hstatus & ~(C.HSTATUS_SPV | C.HSTATUS_GVA);
      if (this.v === 1) {
        h |= C.HSTATUS_SPV;
        h = this.priv === C.PRV_S ? h | C.HSTATUS_SPVP : h & ~C.HSTATUS_SPVP;
      }
      if (gva) h |= C.HSTATUS_GVA;
      this.hstatus = h;
    }
    return {
      kind,
      cause,
      interrupt,
      tval,
      htval,
      htinst,
      pc,
      v: this.v,
      priv: this.priv,
      gva,
      retired: 0,
      charged: 0,
    };
  }

  /** Take a pending VS interrupt; returns true when it ends the run (not delegated). */
  private checkInterrupts(): boolean {
    if (this.v !== 1) return false;
    const pend = this.hip() & this.hie;
    if (pend === 0) return false;
    const toHs = pend & ~this.hideleg;
    if (toHs !== 0) {
      this.exitRec = this.record('interrupt', pickIrq(toHs), true, 0n, 0n, 0n, false);
      return true;
    }
    if (this.priv === C.PRV_U || (this.vsstatus & C.SR_SIE) !== 0) {
      // VS interrupt n is seen by the guest as the S interrupt n - 1.
      this.deliverVS(pickIrq(pend) - 1, true, 0n);
    }
    return false;
  }

  /** Recompute the translation context after a change of mode, satp/vsatp/hgatp or SUM/MXR. */
  private updateContext(): void {
    const c = this.ctx;
    const v = this.v;
    const satp = v === 1 ? this.vsatp : this.satp;
    c.v = v;
    c.priv = this.priv === C.PRV_U ? C.PRV_U : C.PRV_S;
    c.s1Mode = Number(satp >> 60n);
    c.s1Root = Number(satp & PPN_MASK) * 4096;
    c.hsMxr = (this.mstatus & C.SR_MXR) !== 0;
    if (v === 1) {
      c.sum = (this.vsstatus & C.SR_SUM) !== 0;
      c.mxr = (this.vsstatus & C.SR_MXR) !== 0 || c.hsMxr;
      c.gMode = Number(this.hgatp >> 60n);
      c.gRoot = Number(this.hgatp & PPN_MASK) * 4096;
    } else {
      c.sum = (this.mstatus & C.SR_SUM) !== 0;
      c.mxr = c.hsMxr;
      c.gMode = 0;
      c.gRoot = 0;
    }
    const asid = Number((satp >> 44n) & 0xffffn);
    const vmid = v === 1 ? this.vmid() : 0;
    const modes = (c.s1Mode === 0 ? 0 : c.s1Mode - 7) * 3 + (c.gMode === 0 ? 0 : c.gMode - 7);
    const key =
      (((vmid * 65536 + asid) * 16 + modes) * 2 + v) * 64 +
      c.priv * 8 +
      (c.sum ? 4 : 0) +
      (c.mxr ? 2 : 0) +
      (c.hsMxr ? 1 : 0);
    this.set = this.tlb.get(key, v, vmid, asid);
    this.fPage = Number.NaN;
  }
}

function checkReg(i: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i > 31) fail('EINVAL', `register ${i} is not 0..31`, what);
}

const AMO_OPS = new Set([0, 1, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c]);

/** Priority among VS interrupts: external, software, timer (privileged spec 3.1.9 order). */
function pickIrq(bits: number): number {
  if ((bits & C.MIP_SGEIP) !== 0) return C.IRQ_S_GEXT; // HS-level SGEI outranks every VS interrupt
  if ((bits & C.MIP_VSEIP) !== 0) return C.IRQ_VS_EXT;
  if ((bits & C.MIP_VSSIP) !== 0) return C.IRQ_VS_SOFT;
  return C.IRQ_VS_TIMER;
}

function status64(low: number): bigint {
  const v = BigInt(low >>> 0) | XLEN_FIELD;
  return (low & C.SR_FS) === C.SR_FS_DIRTY ? v | SD : v;
}

function validSatp(v: bigint): boolean {
  const mode = Number(v >> 60n);
  return mode === C.SATP_MODE_BARE || mode === C.SATP_MODE_SV39 || mode === C.SATP_MODE_SV48;
}

/** htinst for a load: the transformed instruction (imm and rs1 zeroed; bit 1 clear if compressed). */
export function htinstLoad(insn: number, len: number): number {
  return insn & 0x7fff & (len === 2 ? ~2 : ~0);
}

/** htinst for a store: rs2, funct3 and opcode kept; imm and rs1 zeroed. */
export function htinstStore(insn: number, len: number): number {
  return insn & 0x01f0707f & (len === 2 ? ~2 : ~0);
}
