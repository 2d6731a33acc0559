import * as C from './csr.ts';
import type { Hart, HartOptions } from './hart.ts';
import { WasmArena } from './wasm-arena.ts';

// V8 optimizes the interpreter loop (execute.ts exec, one large function)
// from the type feedback its paths have gathered so far. A path first taken
// after that (the first AMO, CSR write, misaligned load, FP op, trap, ...)
// throws the optimized code away ("insufficient type feedback"), and the
// loop runs unoptimized until V8 has compiled it again: a Linux boot paid
// that about fifteen times, for most of its first second. So, once per
// process, before the first guest runs, a private hart with its own 64 KiB
// runs a short program that takes each path once: every integer, M, A, F/D
// and CSR form, loads and stores that hit, miss, or are misaligned, branches
// and jumps, compressed forms, FENCE/FENCE.I, compiled blocks with their
// calls, an exception delivered to VS and one that exits. No guest sees it.

const RAM = 0x8000_0000;
const DATA = RAM + 0x8000;

const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number, op: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
/** A conditional branch to pc + 8 (skips the next instruction when taken). */
const B8 = (f3: number, rs1: number, rs2: number) =>
  ((rs2 << 20) | (rs1 << 15) | (f3 << 12) | (8 << 7) | 0x63) >>> 0;
const LUI = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const AUIPC = (rd: number) => ((rd << 7) | 0x17) >>> 0;
/** JAL rd, pc + 8. */
const JAL8 = (rd: number) => (((8 >> 1) << 21) | (rd << 7) | 0x6f) >>> 0;
const AMO = (f5: number, f3: number, rd: number, rs1: number, rs2: number) =>
  R(f5 << 2, rs2, rs1, f3, rd, 0x2f);
const NOP = I(0, 0, 0, 0, 0x13);

/** The loop body: x6 = DATA, x7..x15 scratch, x16..x19 = 0, 5, 40, -1, x30 the loop count. */
function body(): number[] {
  const w: number[] = [];
  // Shift amounts and comparisons that take each side of the value-dependent branches.
  for (const sh of [0, 5, 40])
    for (const f3 of [1, 5]) w.push(I(sh, 19, f3, 8, 0x13), I(0x400 | sh, 19, 5, 8, 0x13));
  for (const rs2 of [16, 17, 18])
    for (const [f7, f3] of [
      [0, 1],
      [0, 5],
      [0x20, 5],
      [0, 2],
      [0, 3],
    ])
      w.push(R(f7!, rs2, 19, f3!, 8, 0x33));
  for (const [a, b] of [
    [16, 16],
    [16, 17],
    [17, 16],
    [19, 16],
    [16, 19],
  ])
    for (const f3 of [0, 1, 4, 5, 6, 7]) w.push(B8(f3, a!, b!), NOP);
  w.push(I(0, 6, 2, 0, 0x03), I(0, 6, 3, 0, 0x03)); // loads into x0
  for (let f3 = 0; f3 < 8; f3++) w.push(I(f3 === 1 || f3 === 5 ? 3 : -5, 7, f3, 8, 0x13));
  w.push(I(0x400 | 3, 7, 5, 8, 0x13)); // srai
  // MUL..MULHU of operands with the top bit set (their 32-bit limbs are not int32).
  for (let f3 = 0; f3 < 4; f3++) w.push(R(1, 19, 19, f3, 9, 0x33), R(1, 18, 19, f3, 9, 0x33));
  for (const f7 of [0, 1]) for (let f3 = 0; f3 < 8; f3++) w.push(R(f7, 8, 7, f3, 9, 0x33));
  w.push(R(0x20, 8, 7, 0, 9, 0x33), R(0x20, 8, 7, 5, 9, 0x33)); // sub, sra
  w.push(R(1, 0, 7, 4, 9, 0x33), R(1, 0, 7, 7, 9, 0x33)); // div and remu by zero
  w.push(I(-3, 9, 0, 10, 0x1b), I(3, 9, 1, 10, 0x1b), I(3, 9, 5, 10, 0x1b), I(0x400 | 3, 9, 5, 10, 0x1b));
  for (const [f7, f3] of [
    [0, 0],
    [0x20, 0],
    [0, 1],
    [0, 5],
    [0x20, 5],
    [1, 0],
    [1, 4],
    [1, 5],
    [1, 6],
    [1, 7],
  ])
    w.push(R(f7!, 8, 9, f3!, 10, 0x3b));
  w.push(LUI(11, 0x12345), AUIPC(11));
  for (let f3 = 0; f3 < 7; f3++) w.push(I(8 * f3, 6, f3, 12, 0x03)); // every load, aligned
  w.push(I(1, 6, 2, 12, 0x03), I(4095, 6, 3, 12, 0x03)); // misaligned; crossing into an unmapped page's TLB miss
  for (let f3 = 0; f3 < 4; f3++) w.push(S(64 + 8 * f3, 9, 6, f3, 0x23)); // every store
  w.push(S(66, 9, 6, 2, 0x23)); // misaligned store
  w.push(I(0, 0, 0, 0, 0x0f), 0x0100000f); // fence; pause (Zihintpause, not exiting here)
  w.push(
    AMO(2, 3, 13, 6, 0),
    S(72, 9, 6, 3, 0x23), // a store while the reservation is held (it breaks it)
    AMO(3, 3, 14, 6, 9),
    AMO(0, 3, 13, 6, 9),
    AMO(1, 2, 13, 6, 9),
    AMO(0x14, 3, 13, 6, 9),
  );
  w.push(I(C.CSR_SSCRATCH, 0, 2, 13, 0x73), I(C.CSR_INSTRET, 0, 2, 13, 0x73), I(C.CSR_FCSR, 0, 2, 13, 0x73));
  w.push(I(0, 6, 3, 1, 0x07)); // fld f1, 0(x6)
  w.push(R(0x01, 1, 1, 0, 2, 0x53)); // fadd.d f2, f1, f1
  w.push(S(16, 2, 6, 3, 0x27)); // fsd f2, 16(x6)
  w.push(R(0x71, 0, 2, 0, 14, 0x53)); // fmv.x.d x14, f2
  for (const f3 of [0, 1, 4, 5, 6, 7]) w.push(B8(f3, 7, 8), NOP);
  w.push(JAL8(1), NOP);
  w.push(AUIPC(15), I(12, 15, 0, 1, 0x67), NOP); // jalr x1, 12(x15): to the instruction after the NOP
  w.push(0x0001_0385); // c.addi x7, 1; c.nop
  // A loop that compiles to one self-looping block (exec reads its pass count): x20 = 3, counted down.
  const bneBack4 = ((0x7f << 25) | (20 << 15) | (1 << 12) | (0x1d << 7) | 0x63) >>> 0; // bne x20, x0, -4
  w.push(I(3, 0, 0, 20, 0x13), I(-1, 20, 0, 20, 0x13), bneBack4);
  w.push(I(C.CSR_SSCRATCH, 7, 1, 0, 0x73)); // csrw sscratch, x7 (ends a compiled block)
  w.push(I(C.CSR_SSTATUS, C.SR_SIE, 6, 0, 0x73)); // csrsi sstatus, SIE (ends the chunk)
  w.push(I(C.CSR_SSTATUS, C.SR_SIE, 7, 0, 0x73)); // csrci sstatus, SIE
  return w;
}

let warmed = false;

/**
 * Run the warm-up once per process (the first Hart constructed calls it, so
 * `make` builds the private hart). Does nothing when called again.
 */
export function warmUpOnce(make: (opts: HartOptions) => Hart): void {
  if (warmed) return;
  warmed = true;
  warmUpHarts(make);
}

/**
 * The warm-up itself (exported for tests): the program runs on a hart with
 * the block compiler off, then on one with it on, threshold 2. With blocks on
 * from the start, each pass after the first ran compiled, so the
 * interpreter's paths ran in one early pass only, and (by --trace-deopt) the
 * first U-Boot boot still deoptimized exec seven times at paths the program
 * has (SLT, XOR, SLLIW, LH...). With the interpreter alone first, four of
 * the seven went, and a fresh process reached U-Boot's prompt in 334-370 ms
 * instead of 454-465.
 *
 * The program also has what a Linux boot deoptimized exec for next: MUL..MULHU
 * with operands whose 32-bit limbs are not int32, `pause`, and a compiled
 * self-loop (Linux's first boot in a process: 1146-1355 to 1103-1118 ms to
 * init). SLTI/SLTIU with tied high words were tried too: U-Boot's first boot
 * then took 25 ms longer, so they are left out.
 *
 * A third hart runs it with wasm blocks in a small arena of its own, with
 * PAUSE exiting armed, and the program stores while a reservation is held:
 * exec()'s wasm entry, its reservation-store path and its pause exit were
 * what a fresh Linux boot still deoptimized it for. A fresh `tsvirt-vm`
 * reached init in 1188-1358 ms (median 1223) against 1259-1523 (1308) over
 * eight alternating runs, though the warm-up itself takes about 20 ms more.
 */
export function warmUpHarts(make: (opts: HartOptions) => Hart): void {
  for (const opts of [{ jit: false }, { jitThreshold: 2 }]) warmUp(make, opts);
  // Last, with wasm blocks (the default tier): exec()'s entry into them and
  // its chain-table writes, and `pause` exiting as KVM arms it under SMP.
  const arena = WasmArena.create(WARM_ARENA_BYTES);
  if (arena !== undefined) warmUp(make, { jitThreshold: 2, arena }, true);
}

const WARM_BYTES = 1 << 16;
/** The program has one `pause` per pass; bounded all the same. */
const MAX_PAUSES = 64;
/** Room for the program, the hart's registers with its chain table, and its TLB tags. */
const WARM_ARENA_BYTES = 4 << 20;

function warmUp(make: (opts: HartOptions) => Hart, opts: Partial<HartOptions>, pauseExits = false): void {
  const at = opts.arena?.alloc(WARM_BYTES, 4096);
  const buf = at === undefined ? new ArrayBuffer(WARM_BYTES) : opts.arena!.buffer();
  const base = at ?? 0;
  const hart = make({
    mem: {
      frame: (pfn) =>
        pfn >= 0x80000 && pfn < 0x80010
          ? new Uint8Array(buf, base + (pfn - 0x80000) * 4096, 4096)
          : undefined,
    },
    ...opts,
  });
  hart.pauseExits = pauseExits;
  const loop = body();
  const handler = RAM + 0x4000;
  const code = [
    LUI(6, DATA >>> 12), // sign-extended: x6 = 0xffff_ffff_8000_8000
    I(32, 6, 1, 6, 0x13), // slli x6, x6, 32
    I(32, 6, 5, 6, 0x13), // srli x6, x6, 32: DATA
    I(5, 0, 0, 17, 0x13),
    I(40, 0, 0, 18, 0x13),
    I(-1, 0, 0, 19, 0x13),
    I(4, 0, 0, 30, 0x13), // x30 = 4 passes: interpreted, then compiled
    ...loop,
    0x0000_100f, // fence.i
    I(-1, 30, 0, 30, 0x13),
    0, // patched below: bne x30, x0, back to the loop
    0x0000_0000, // an illegal instruction, delegated to VS: to the handler
  ];
  const bneAt = code.length - 2;
  const back = -4 * (bneAt - 7);
  code[bneAt] =
    (((back >> 12) & 1) << 31) |
    (((back >> 5) & 0x3f) << 25) |
    (30 << 15) |
    (1 << 12) |
    (((back >> 1) & 0xf) << 8) |
    (((back >> 11) & 1) << 7) |
    0x63;
  new Uint32Array(buf, base, code.length).set(code.map((v) => v >>> 0));
  // The handler: a load from no memory (an access fault that exits), never returning.
  new Uint32Array(buf, base + handler - RAM, 1).set([I(0, 0, 3, 7, 0x03)]);
  hart.setCsr(C.CSR_HCOUNTEREN, 7n);
  hart.setCsr(C.CSR_HEDELEG, 1n << BigInt(C.EXC_ILLEGAL_INST));
  hart.setCsr(C.CSR_VSTVEC, BigInt(handler));
  hart.pc = BigInt(RAM);
  // Eight runs to an exit; a pause exit (the instruction retired) goes on
  // from the next instruction without counting as one.
  for (let k = 0, pauses = 0; k < 8 && pauses < MAX_PAUSES; ) {
    const kind = hart.run(100_000).kind;
    if (kind === 'pause') {
      pauses++;
      continue;
    }
    if (kind !== 'budget') hart.pc = BigInt(RAM);
    k++;
  }
}
