import { fail } from '@tsvirt/core-bus';
import * as A from './aia.ts';
import * as C from './csr.ts';
import { CSRS, csrRead, csrWrite, MASK64, PPN_MASK, sx } from './csr-file.ts';
import { checkInterrupts, deliverVS, record } from './exceptions.ts';
import { hgatpVmid } from './exec-system.ts';
import { exec } from './execute.ts';
import type { HartExit } from './exit.ts';
import type { FpuState } from './fpu/index.ts';
import { compileBlock, FRONT_SLOTS, HEAD_HOT, HEAD_SLOTS, type JitBlock } from './jit.ts';
import { CHAIN_SLOTS, WASM_CHAIN, WASM_PC, WASM_REGS_BYTES, WasmBatch, WasmTier } from './jit-wasm.ts';
import { Mmu, type MmuContext } from './mmu.ts';
import type { PhysMemory } from './phys-memory.ts';
import { ReservationSet } from './reservation.ts';
import { RVC_TABLE } from './rvc.ts';
import { restoreHart, saveHart } from './snapshot.ts';
import { Tlb, type TlbSet } from './tlb.ts';
import { PendingTrap } from './trap.ts';
import { warmUpOnce } from './warmup.ts';
import type { WasmArena } from './wasm-arena.ts';

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
  /**
   * The machine's wasm arena (wasm-arena.ts): with it and `jit`, blocks
   * compile to WebAssembly (jit-wasm.ts) and this hart's registers and TLB
   * tags live in the arena. `mem`'s frames should come from the same arena
   * (a frame outside it is reached through the interpreter).
   */
  arena?: WasmArena;
  /** GEILEN: guest interrupt files (VS-level IMSIC files) of this hart, 0..30 (aia.ts). Default 0. */
  geilen?: number;
  /** N, the highest identity of each guest interrupt file. Default 255 (QEMU virt's IMSIC). */
  imsicIds?: number;
}

/** Instructions between interrupt/timer checks. */
const CHUNK = 4096;
/**
 * Times a block head is reached before it is compiled: the most the head
 * counters hold. Compiling costs about what interpreting tens of thousands of
 * instructions does (V8 parses each block, runs it unoptimized, then
 * optimizes it), so code that is merely warm, like a firmware's boot path,
 * stays interpreted: at 256, U-Boot reached its prompt in about twice the
 * interpreter's time. At 65535 rather than 16384 a fresh VM compiles fewer
 * blocks: U-Boot's prompt 167 to 131 ms, Linux to init 822 to 792 ms, crc32
 * within noise (its loop still compiles after 256 KiB).
 */
export const JIT_HOT = 65535;
/**
 * The threshold with the wasm tier: a wasm block costs tens of microseconds
 * to compile and runs at full speed from its first call.
 */
export const WASM_HOT = 1024;
/**
 * The wasm tier's default threshold once a hart knows WASM_EARLY_BLOCKS
 * heads: a firmware's early code pays for its compile at WASM_HOT, but a
 * kernel's thousands of merely warm heads do not. Measured in-process,
 * 5 runs each (ms, min-median): WASM_HOT throughout gave Linux to init on
 * 2 harts 913-932 against the JavaScript tier's 885-902; raised to 8192
 * after 512 heads, 786-820 against 810-850, with U-Boot's prompt and
 * crc32 unchanged (96-103, 331-341). 256 heads or 4096/16384 were no better.
 */
export const WASM_EARLY_BLOCKS = 512;
export const WASM_WARM_HOT = 8192;
/** Compiled blocks kept per hart before the cache starts over. */
const JIT_MAX_BLOCKS = 1 << 15;
/**
 * What one block compile costs against run()'s budget, in instructions. A
 * compile (new Function) takes about as long as a thousand interpreted
 * instructions; charging it keeps a quantum's wall time bounded when a guest
 * makes the compiler work without end (code rewritten and FENCE.I'd in a
 * loop under --jit-threshold 1), so the VMM gets back to its console in time.
 * It is charged, not retired: instret and the guest's clock do not move.
 */
export const JIT_COMPILE_CHARGE = 1024;

/**
 * One RV64IMAC(+FD through src/fpu) hart with the H extension: the state and
 * the API KVM uses. The interpreter loop is execute.ts, with one file per
 * extension group (exec-a.ts, exec-fd.ts, exec-system.ts, muldiv.ts), traps
 * in exceptions.ts, the CSR file in csr-file.ts. Guests run in
 * VS/VU (V=1); traps that hardware would take to HS end `run()` with an exit
 * record. Register state lives in typed arrays (x: BigInt64Array with an
 * Int32Array view; f: 64 words) so a block compiler can share it.
 */
export class Hart implements FpuState {
  /** x registers; x32 views the same bytes as (lo, hi) int32 pairs. In the arena with the wasm tier. */
  readonly x: BigInt64Array;
  /** The x registers as (lo, hi) int32 pairs over the same bytes. */
  readonly x32: Int32Array;
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

  // Internal machinery below: public only so the execute, trap and CSR
  // modules (execute.ts, exceptions.ts, csr-file.ts, exec-*.ts,
  // memory-access.ts) can reach it; not part of the API KVM uses.
  /** @internal */
  readonly mem: PhysMemory;
  readonly readTime: () => bigint;
  readonly tlb: Tlb;
  /** The wasm tier (undefined: JavaScript blocks), and where x lies in its memory. */
  readonly wasmTier: WasmTier | undefined;
  /** Wasm blocks compiled and not yet installed (WasmBatch: a module per batch). */
  readonly wasmBatch: WasmBatch | undefined;
  readonly wasmRegs: number;
  /** The next pc a wasm block leaves after x (WASM_PC). */
  readonly wasmPc: Float64Array;
  /** The hart's arena block as i32 words: the control words and chain table (jit-wasm.ts). */
  readonly wasmCtl: Int32Array;
  readonly ctx: MmuContext;
  readonly mmu: Mmu;
  set!: TlbSet;
  exitRec: HartExit | undefined;
  resetBlob: Uint8Array | undefined;
  readonly tmp = new Int32Array(2);
  /** Retired-but-not-yet-counted instructions of the running chunk. */
  inflight = 0;
  // The fetch page: its virtual address (pc domain), 16-bit view and byte base.
  fPage = Number.NaN;
  fU16: Uint16Array = new Uint16Array(0);
  fBase = 0;
  /** The fetch page's frame is in the hart's arena (its wasm blocks can be chained to). */
  fWasm = false;
  readonly jit: boolean;
  /** Visits before a head is compiled (the wasm tier's default rises to WASM_WARM_HOT after WASM_EARLY_BLOCKS heads). */
  jitThreshold: number;
  /** The wasm tier's default threshold is in use, to be raised once the early blocks are compiled. */
  private wasmRaise: boolean;
  /** Block compiles of this run() call, in instructions (JIT_COMPILE_CHARGE each). */
  compileCharge = 0;
  /** Traps taken in this run() call, in instructions (trap.ts TRAP_CHARGE each): into VS or out to HS. */
  trapCharge = 0;
  /** Compiled blocks by head pc (null: the head does not start a compilable block). */
  readonly blocks = new Map<number, JitBlock | null>();
  /**
   * A direct-mapped front for `blocks` at hot heads, by pc hash: the head's
   * pc (NaN: empty) and its entry. exec() compares pc there as a double,
   * without boxing it for the Map. Emptied whenever `blocks` drops entries.
   */
  readonly frontPc = new Float64Array(FRONT_SLOTS).fill(Number.NaN);
  readonly frontBlock: (JitBlock | null)[] = new Array<JitBlock | null>(FRONT_SLOTS).fill(null);
  /** How often block heads were reached, by pc hash (HEAD_HOT once one in the slot is compiled). */
  readonly heat = new Uint16Array(HEAD_SLOTS);
  /** Set by a compiled block before a call that may trap: the index of that instruction. */
  jitIndex = 0;
  /** Set by a looping block: passes completed (before the current one, when it traps). */
  jitLoops = 0;
  /** Bumped by flushCodeCache(): blocks of an older epoch are checked against their bytes before they run. */
  codeEpoch = 0;
  /** Set by a block's CSR write (jit-calls.ts blockCsr) when the chunk must end after the block. */
  jitStop = false;
  /**
   * PAUSE exiting: a Zihintpause `pause` ends run() with a 'pause' exit
   * (retired, pc past it). KVM arms it while another vCPU could use the
   * CPU, as x86 KVM's pause-loop exiting (kvm_vcpu_on_spin()) gives a
   * spinning vCPU's time to the lock holder; otherwise `pause` is a no-op.
   */
  pauseExits = false;

  constructor(opts: HartOptions) {
    this.jit = opts.jit ?? true;
    const arena = this.jit ? opts.arena : undefined;
    const regs = arena?.alloc(WASM_REGS_BYTES, 8);
    if (arena !== undefined && regs !== undefined) {
      const buf = arena.buffer();
      this.x = new BigInt64Array(buf, regs, 32);
      this.x32 = new Int32Array(buf, regs, 64);
      this.wasmPc = new Float64Array(buf, regs + WASM_PC, 1);
      this.wasmCtl = new Int32Array(buf, regs, WASM_REGS_BYTES >>> 2);
      this.wasmTier = WasmTier.of(arena);
      this.wasmBatch = new WasmBatch(this.wasmTier, opts.jitThreshold !== undefined);
      this.wasmTier.register(this);
      this.wasmRegs = regs;
      this.tlb = new Tlb(arena);
    } else {
      this.x = new BigInt64Array(32);
      this.x32 = new Int32Array(this.x.buffer);
      // Unused without the tier (forgetChains() and exec() check wasmTier first).
      this.wasmPc = new Float64Array(1);
      this.wasmCtl = new Int32Array(0);
      this.wasmTier = undefined;
      this.wasmBatch = undefined;
      this.wasmRegs = 0;
      this.tlb = new Tlb();
    }
    const hot = this.wasmTier === undefined ? JIT_HOT : WASM_HOT;
    this.jitThreshold = Math.min(Math.max(opts.jitThreshold ?? hot, 1), HEAD_HOT);
    this.wasmRaise = this.wasmTier !== undefined && opts.jitThreshold === undefined;
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
    warmUpOnce((o) => new Hart(o));
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
    return csrRead(this, num);
  }

  /** Write a CSR by number with the register's WARL rules; read-only ones give EINVAL. */
  setCsr(num: number, v: bigint): void {
    if (!CSRS.has(num)) fail('ENOENT', `no CSR 0x${num.toString(16)}`, 'setCsr');
    if (num === C.CSR_CYCLE || num === C.CSR_INSTRET) {
      this.instret = Number(BigInt.asUintN(53, v));
      return;
    }
    if (num >>> 10 === 3) fail('EINVAL', `CSR 0x${num.toString(16)} is read-only`, 'setCsr');
    csrWrite(this, num, BigInt.asUintN(64, v));
  }

  /**
   * Back to the reset state (registers zero, CSRs at their reset values, VS
   * mode), as KVM resets a vCPU before an SBI HSM hart_start; the caller then
   * sets pc, a0 and a1.
   */
  reset(): void {
    // The same guest interrupt files as this hart, so the blob's AIA part fits (all reset).
    const nrIds = this.aia.files[1]?.nrIds;
    this.resetBlob ??= saveHart(
      new Hart({ mem: this.mem, geilen: this.aia.geilen, ...(nrIds ? { imsicIds: nrIds } : {}) }),
    );
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
    this.mmu.flush();
    this.fPage = Number.NaN;
  }

  /** Drop every cached translation of every context. */
  flushAllTlb(): void {
    this.tlb.flushEverything();
    this.mmu.flush();
    this.fPage = Number.NaN;
  }

  /** Compiled blocks currently cached (diagnostics and tests). */
  get compiledBlocks(): number {
    let n = 0;
    for (const b of this.blocks.values()) if (b !== null) n++;
    return n;
  }

  /**
   * Code may have changed: FENCE.I (this hart's, or a remote one through SBI
   * RFENCE), or the host changed guest code behind the hart's back. Starts a
   * new code epoch: each compiled block is checked against its instruction
   * bytes when next reached and recompiled only if they changed (jit.ts
   * sameCode); heads that could not be compiled are forgotten, as their code
   * may now compile. A TLB flush does not need it: blocks are found by pc and
   * checked against where the fetch translation now puts their bytes.
   */
  flushCodeCache(): void {
    this.codeEpoch++;
    this.forgetChains();
    for (const [pc, b] of this.blocks) if (b === null) this.blocks.delete(pc);
    this.frontPc.fill(Number.NaN);
  }

  // ---- interrupts ----

  /** hip as hardware computes it: hvip, the Sstc VS timer, and the guest interrupt files (VSEIP via VGEIN, SGEIP). */
  hip(): number {
    let p = this.hvip & C.VS_INTERRUPTS;
    if (this.aia.hgeip !== 0) p |= this.aia.hipBits(this.hstatus);
    if ((this.henvcfg & C.ENVCFG_STCE) !== 0n && this.vsTime() >= this.vstimecmp) p |= C.MIP_VSTIP;
    return p;
  }

  vsTime(): bigint {
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
    this.trapCharge = 0;
    let done = 0;
    for (;;) {
      if (checkInterrupts(this)) break;
      const used = done + this.compileCharge + this.trapCharge;
      if (used >= budget) {
        this.exitRec = record(this, 'budget', -1, false, 0n, 0n, 0n, false);
        break;
      }
      done += exec(this, Math.min(budget - used, CHUNK));
      if (this.exitRec !== undefined) break;
    }
    this.wasmBatch?.endOfRun();
    const r = this.exitRec!;
    r.retired = done;
    r.charged = done + this.compileCharge + this.trapCharge;
    return r;
  }

  /** Deliver an exception into the guest's VS trap handler, as kvm_riscv_vcpu_trap_redirect(). */
  redirectTrap(cause: number, tval: bigint): void {
    if (!Number.isInteger(cause) || cause < 0 || cause > 63)
      fail('EINVAL', `exception cause ${cause} out of range`, 'redirectTrap');
    deliverVS(this, cause, false, BigInt.asUintN(64, tval));
  }

  /** Forget every compiled block (and the heads that did not compile), the front table and the chains. */
  dropBlocks(): void {
    this.blocks.clear();
    this.forgetChains();
    this.frontPc.fill(Number.NaN);
  }

  /** Empty the wasm chain table: the dispatcher then follows no head until exec() checks it again. */
  forgetChains(): void {
    if (this.wasmTier !== undefined)
      this.wasmCtl.fill(0, WASM_CHAIN >>> 2, (WASM_CHAIN >>> 2) + CHAIN_SLOTS * 4);
  }

  /** Compile the block at a hot head (or recompile one whose bytes now come from elsewhere). */
  compileAt(pc: number, u16: Uint16Array, hoff: number, pageOff: number): JitBlock | null {
    // A bounded cache: a guest that keeps reaching new code starts over rather than grow without end.
    if (this.blocks.size >= JIT_MAX_BLOCKS) this.dropBlocks();
    const batch = this.wasmBatch;
    const b =
      (batch === undefined
        ? compileBlock(u16, hoff, pc, pageOff, RVC_TABLE, this.codeEpoch)
        : batch.compile(u16, hoff, pc, pageOff, RVC_TABLE, this.codeEpoch)) ?? null;
    if (this.wasmRaise && this.blocks.size >= WASM_EARLY_BLOCKS) {
      this.wasmRaise = false;
      this.jitThreshold = WASM_WARM_HOT;
    }
    // Charged when a function was made (a head whose first instruction does not compile costs one decode).
    if (b !== null) this.compileCharge += JIT_COMPILE_CHARGE;
    this.blocks.set(pc, b);
    return b;
  }

  // ---- fetch ----

  // ---- loads and stores (slow paths) ----

  // ---- A extension ----

  // ---- F/D: loads and stores here, arithmetic in src/fpu ----

  // ---- SYSTEM ----

  // ---- traps ----

  /** Recompute the translation context after a change of mode, satp/vsatp/hgatp or SUM/MXR. */
  updateContext(): void {
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
    const vmid = v === 1 ? hgatpVmid(this) : 0;
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
