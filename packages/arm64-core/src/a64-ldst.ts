import { fpAccessCheck, readVec, writeVec } from './a64-simd.ts';
import { MASK64, ones, sext, sextNum } from './bits.ts';
import type { Arm64Cpu } from './cpu.ts';
import { EC_SP_ALIGN, SyncException, undefinedInstruction } from './exceptions.ts';

/** ESR ISS bits 24:14 (ISV, SAS, SSE, SRT, SF, AR): a syndrome KVM can emulate as MMIO. */
function isvSyndrome(sizeLog2: number, signed: boolean, rt: number, sf: boolean, ar: boolean): number {
  return (
    (1 << 24) |
    (sizeLog2 << 22) |
    ((signed ? 1 : 0) << 21) |
    (rt << 16) |
    ((sf ? 1 : 0) << 15) |
    ((ar ? 1 : 0) << 14)
  );
}

/** The base register; SP must be 16-byte aligned when SCTLR_EL1.SA/SA0 says so. */
function baseAddr(cpu: Arm64Cpu, rn: number): bigint {
  const base = cpu.xsp(rn);
  if (rn === 31 && (base & 15n) !== 0n) {
    const check = cpu.el() === 0 ? 1n << 4n : 1n << 3n;
    if ((cpu.sctlr & check) !== 0n) throw new SyncException(EC_SP_ALIGN, 0);
  }
  return base;
}

/** Loads and stores (C4.1.85). */
export function executeLoadStore(cpu: Arm64Cpu, insn: number): void {
  if ((insn & 0x3f00_0000) === 0x0800_0000) {
    exclusiveOrdered(cpu, insn);
    return;
  }
  if ((insn & 0x3b00_0000) === 0x1800_0000) {
    literal(cpu, insn);
    return;
  }
  if ((insn & 0x3800_0000) === 0x2800_0000) {
    pair(cpu, insn);
    return;
  }
  if ((insn & 0x3800_0000) === 0x3800_0000) {
    register(cpu, insn);
    return;
  }
  if ((insn & 0xbf80_0000) === 0x0c00_0000 || (insn & 0xbf80_0000) === 0x0c80_0000) {
    multiple(cpu, insn);
    return;
  }
  throw undefinedInstruction();
}

/** Load `1 << scale` bytes into a V register (zeroing the rest), or store them from it. */
function vecAccess(cpu: Arm64Cpu, load: boolean, addr: bigint, scale: number, rt: number): void {
  if (load) {
    if (scale === 4) writeVec(cpu, rt, cpu.load(addr, 8), cpu.load(addr + 8n, 8));
    else writeVec(cpu, rt, cpu.load(addr, 1 << scale), 0n);
  } else {
    const [lo, hi] = readVec(cpu, rt);
    if (scale === 4) {
      cpu.store(addr, 8, lo);
      cpu.store(addr + 8n, 8, hi);
    } else cpu.store(addr, 1 << scale, lo & ones(8 << scale));
  }
}

function literal(cpu: Arm64Cpu, insn: number): void {
  const opc = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const rt = insn & 31;
  const addr = BigInt.asUintN(64, cpu.pc + BigInt(sextNum((insn >>> 5) & 0x7ffff, 19) * 4));
  if (v) {
    if (opc === 3) throw undefinedInstruction();
    fpAccessCheck(cpu);
    vecAccess(cpu, true, addr, 2 + opc, rt);
    return;
  }
  if (opc === 3) return; // PRFM (literal)
  const size = opc === 0 ? 4 : opc === 1 ? 8 : 4;
  cpu.syndrome = isvSyndrome(opc === 1 ? 3 : 2, opc === 2, rt, opc !== 0, false);
  const val = cpu.load(addr, size);
  cpu.xw(rt, opc === 2 ? sext(val, 32) : val);
}

function pair(cpu: Arm64Cpu, insn: number): void {
  const opc = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const mode = (insn >>> 23) & 3;
  const load = ((insn >>> 22) & 1) === 1;
  const rt = insn & 31;
  const rn = (insn >>> 5) & 31;
  const rt2 = (insn >>> 10) & 31;
  let scale: number;
  let signed = false;
  if (v) {
    if (opc === 3) throw undefinedInstruction();
    fpAccessCheck(cpu);
    scale = 2 + opc;
  } else {
    if (opc === 3 || (opc === 1 && !load)) throw undefinedInstruction();
    scale = opc === 2 ? 3 : 2;
    signed = opc === 1;
  }
  const offset = BigInt(sextNum((insn >>> 15) & 0x7f, 7)) << BigInt(scale);
  const base = baseAddr(cpu, rn);
  const addr = mode === 1 ? base : BigInt.asUintN(64, base + offset);
  const size = 1 << scale;
  cpu.checkAlign(addr, size, false, !load);
  const addr2 = BigInt.asUintN(64, addr + BigInt(size));
  if (v) {
    if (load) {
      // Both loads complete before either register changes (a fault leaves them intact).
      const a = scale === 4 ? [cpu.load(addr, 8), cpu.load(addr + 8n, 8)] : [cpu.load(addr, size), 0n];
      const b = scale === 4 ? [cpu.load(addr2, 8), cpu.load(addr2 + 8n, 8)] : [cpu.load(addr2, size), 0n];
      writeVec(cpu, rt, a[0], a[1]);
      writeVec(cpu, rt2, b[0], b[1]);
    } else {
      vecAccess(cpu, false, addr, scale, rt);
      vecAccess(cpu, false, addr2, scale, rt2);
    }
  } else if (load) {
    let a = cpu.load(addr, size);
    let b = cpu.load(addr2, size);
    if (signed) {
      a = sext(a, 32);
      b = sext(b, 32);
    }
    cpu.xw(rt, a);
    cpu.xw(rt2, b);
  } else {
    const m = ones(size * 8);
    const a = cpu.xr(rt) & m;
    const b = cpu.xr(rt2) & m;
    cpu.store(addr, size, a);
    cpu.store(addr2, size, b);
  }
  if (mode === 1 || mode === 3) cpu.xspw(rn, BigInt.asUintN(64, base + offset));
}

function extendOffset(v: bigint, option: number, shift: number): bigint {
  const len = 8 << (option & 3);
  let x = v & ones(len);
  if (option & 4) x = sext(x, len);
  return BigInt.asUintN(64, x << BigInt(shift));
}

function register(cpu: Arm64Cpu, insn: number): void {
  const size = insn >>> 30;
  const v = (insn >>> 26) & 1;
  const opc = (insn >>> 22) & 3;
  const rt = insn & 31;
  const rn = (insn >>> 5) & 31;
  let scale = size;
  if (v) {
    if (opc & 2) {
      if (size !== 0) throw undefinedInstruction();
      scale = 4;
    }
  }
  let writeback = false;
  let unpriv = false;
  let addr: bigint;
  let wbAddr = 0n;
  if ((insn >>> 24) & 1) {
    addr = BigInt.asUintN(64, baseAddr(cpu, rn) + (BigInt((insn >>> 10) & 0xfff) << BigInt(scale)));
  } else if (((insn >>> 21) & 1) === 0) {
    const imm = BigInt(sextNum((insn >>> 12) & 0x1ff, 9));
    const base = baseAddr(cpu, rn);
    switch ((insn >>> 10) & 3) {
      case 0:
        addr = BigInt.asUintN(64, base + imm);
        break;
      case 1:
        addr = base;
        wbAddr = BigInt.asUintN(64, base + imm);
        writeback = true;
        break;
      case 2:
        if (v) throw undefinedInstruction();
        addr = BigInt.asUintN(64, base + imm);
        unpriv = cpu.el() === 1;
        break;
      default:
        addr = BigInt.asUintN(64, base + imm);
        wbAddr = addr;
        writeback = true;
    }
  } else {
    const op4 = (insn >>> 10) & 3;
    if (op4 === 0 && !v) {
      atomic(cpu, insn);
      return;
    }
    if (op4 !== 2) throw undefinedInstruction();
    const option = (insn >>> 13) & 7;
    if ((option & 2) === 0) throw undefinedInstruction();
    const s = (insn >>> 12) & 1;
    addr = BigInt.asUintN(
      64,
      baseAddr(cpu, rn) + extendOffset(cpu.xr((insn >>> 16) & 31), option, s ? scale : 0),
    );
  }
  if (v) {
    fpAccessCheck(cpu);
    cpu.checkAlign(addr, 1 << scale, false, (opc & 1) === 0);
    vecAccess(cpu, (opc & 1) === 1, addr, scale, rt);
  } else {
    const bytes = 1 << size;
    if (opc === 0) {
      if (!writeback) cpu.syndrome = isvSyndrome(size, false, rt, size === 3, false);
      cpu.checkAlign(addr, bytes, false, true);
      cpu.store(addr, bytes, cpu.xr(rt) & ones(bytes * 8), unpriv);
    } else if (opc === 1) {
      if (!writeback) cpu.syndrome = isvSyndrome(size, false, rt, size === 3, false);
      cpu.checkAlign(addr, bytes, false);
      cpu.xw(rt, cpu.load(addr, bytes, unpriv));
    } else if (opc === 2) {
      if (size === 3) {
        // PRFM: no effect, never faults.
        if (writeback || unpriv) throw undefinedInstruction();
        return;
      }
      if (!writeback) cpu.syndrome = isvSyndrome(size, true, rt, true, false);
      cpu.checkAlign(addr, bytes, false);
      cpu.xw(rt, sext(cpu.load(addr, bytes, unpriv), bytes * 8));
    } else {
      if (size >= 2) throw undefinedInstruction();
      if (!writeback) cpu.syndrome = isvSyndrome(size, true, rt, false, false);
      cpu.checkAlign(addr, bytes, false);
      cpu.xw(rt, sext(cpu.load(addr, bytes, unpriv), bytes * 8) & 0xffff_ffffn);
    }
  }
  if (writeback) cpu.xspw(rn, wbAddr);
}

/** LSE atomics (LDADD, LDCLR, LDEOR, LDSET, LD[SU]MAX/MIN, SWP): aligned, read then write. */
function atomic(cpu: Arm64Cpu, insn: number): void {
  const size = insn >>> 30;
  const rs = (insn >>> 16) & 31;
  const o3 = (insn >>> 15) & 1;
  const opc = (insn >>> 12) & 7;
  const rn = (insn >>> 5) & 31;
  const rt = insn & 31;
  if (o3 === 1 && opc !== 0) throw undefinedInstruction(); // LDAPR needs FEAT_LRCPC
  const bytes = 1 << size;
  const bits = bytes * 8;
  const m = ones(bits);
  const addr = baseAddr(cpu, rn);
  cpu.checkAlign(addr, bytes, true);
  // Probe for write first so a read-only page faults as a write, before anything changes.
  cpu.probe(addr, 1);
  const old = cpu.load(addr, bytes);
  const s = cpu.xr(rs) & m;
  let res: bigint;
  if (o3 === 1) res = s;
  else {
    switch (opc) {
      case 0:
        res = (old + s) & m;
        break;
      case 1:
        res = old & ~s & m;
        break;
      case 2:
        res = old ^ s;
        break;
      case 3:
        res = old | s;
        break;
      case 4:
        res = BigInt.asIntN(bits, old) > BigInt.asIntN(bits, s) ? old : s;
        break;
      case 5:
        res = BigInt.asIntN(bits, old) < BigInt.asIntN(bits, s) ? old : s;
        break;
      case 6:
        // biome-ignore lint/complexity/useMathMinMax: bigint operands
        res = old > s ? old : s;
        break;
      default:
        // biome-ignore lint/complexity/useMathMinMax: bigint operands
        res = old < s ? old : s;
    }
  }
  cpu.store(addr, bytes, res);
  cpu.xw(rt, old);
}

/** Exclusives (LD[A]XR/ST[L]XR and pairs), LDAR/STLR, CAS and CASP. */
function exclusiveOrdered(cpu: Arm64Cpu, insn: number): void {
  const size = insn >>> 30;
  const o2 = (insn >>> 23) & 1;
  const load = ((insn >>> 22) & 1) === 1;
  const o1 = (insn >>> 21) & 1;
  const rs = (insn >>> 16) & 31;
  const rt2 = (insn >>> 10) & 31;
  const rn = (insn >>> 5) & 31;
  const rt = insn & 31;
  const bytes = 1 << size;
  const m = ones(bytes * 8);
  if (o2 === 1) {
    const addr = baseAddr(cpu, rn);
    if (o1 === 0) {
      // LDAR/STLR (and the LOR forms, treated alike): single-copy atomic, aligned.
      cpu.checkAlign(addr, bytes, true, !load);
      cpu.syndrome = isvSyndrome(size, false, rt, size === 3, true);
      if (load) cpu.xw(rt, cpu.load(addr, bytes));
      else cpu.store(addr, bytes, cpu.xr(rt) & m);
      return;
    }
    // CAS{A,L,AL}{B,H}
    if (rt2 !== 31) throw undefinedInstruction();
    cpu.checkAlign(addr, bytes, true);
    cpu.probe(addr, 1);
    const old = cpu.load(addr, bytes);
    if (old === (cpu.xr(rs) & m)) cpu.store(addr, bytes, cpu.xr(rt) & m);
    cpu.xw(rs, old);
    return;
  }
  if (o1 === 1 && size < 2) {
    // CASP{A,L,AL}: even register pairs.
    if (rt2 !== 31 || rs & 1 || rt & 1) throw undefinedInstruction();
    const eb = size === 0 ? 4 : 8;
    const em = ones(eb * 8);
    const addr = baseAddr(cpu, rn);
    cpu.checkAlign(addr, eb * 2, true);
    cpu.probe(addr, 1);
    const lo = cpu.load(addr, eb);
    const hi = cpu.load(addr + BigInt(eb), eb);
    if (lo === (cpu.xr(rs) & em) && hi === (cpu.xr(rs + 1) & em)) {
      cpu.store(addr, eb, cpu.xr(rt) & em);
      cpu.store(addr + BigInt(eb), eb, cpu.xr(rt + 1) & em);
    }
    cpu.xw(rs, lo);
    cpu.xw(rs + 1, hi);
    return;
  }
  // LDXR/STXR and LDXP/STXP (size 2/3 with o1): the monitor holds the address and what was read.
  const pairOp = o1 === 1;
  const eb = pairOp ? (size === 2 ? 4 : 8) : bytes;
  const total = pairOp ? eb * 2 : eb;
  const addr = baseAddr(cpu, rn);
  cpu.checkAlign(addr, total, true, !load);
  const readAll = (): bigint =>
    pairOp ? cpu.load(addr, eb) | (cpu.load(addr + BigInt(eb), eb) << BigInt(eb * 8)) : cpu.load(addr, eb);
  if (load) {
    const val = readAll();
    cpu.monitorAddr = addr;
    cpu.monitorSize = total;
    cpu.monitorValue = val;
    if (pairOp) {
      cpu.xw(rt, val & ones(eb * 8));
      cpu.xw(rt2, val >> BigInt(eb * 8));
    } else cpu.xw(rt, val);
    return;
  }
  const armed = cpu.monitorAddr === addr && cpu.monitorSize === total;
  cpu.probe(addr, 1);
  // Another vCPU's store to the location shows up as a changed value (QEMU's cmpxchg rule).
  const ok = armed && readAll() === cpu.monitorValue;
  if (ok) {
    const em = ones(eb * 8);
    cpu.store(addr, eb, cpu.xr(rt) & em);
    if (pairOp) cpu.store(addr + BigInt(eb), eb, cpu.xr(rt2) & em);
  }
  cpu.monitorAddr = -1n;
  cpu.xw(rs, ok ? 0n : 1n);
}

/** LD1/ST1 (multiple structures, 1-4 registers): consecutive bytes in little-endian order. */
function multiple(cpu: Arm64Cpu, insn: number): void {
  const q = (insn >>> 30) & 1;
  const load = ((insn >>> 22) & 1) === 1;
  const opcode = (insn >>> 12) & 0xf;
  const rn = (insn >>> 5) & 31;
  const rt = insn & 31;
  const post = ((insn >>> 23) & 1) === 1;
  const rm = (insn >>> 16) & 31;
  if (!post && rm !== 0) throw undefinedInstruction();
  const count = opcode === 7 ? 1 : opcode === 10 ? 2 : opcode === 6 ? 3 : opcode === 2 ? 4 : 0;
  if (count === 0) throw undefinedInstruction(); // LD2/LD3/LD4 interleaving is not implemented
  fpAccessCheck(cpu);
  const base = baseAddr(cpu, rn);
  const regBytes = q ? 16 : 8;
  for (let i = 0; i < count; i++) {
    const addr = BigInt.asUintN(64, base + BigInt(i * regBytes));
    vecAccess(cpu, load, addr, q ? 4 : 3, (rt + i) % 32);
  }
  if (post) {
    const inc = rm === 31 ? BigInt(count * regBytes) : cpu.xr(rm);
    cpu.xspw(rn, BigInt.asUintN(64, base + inc) & MASK64);
  }
}
