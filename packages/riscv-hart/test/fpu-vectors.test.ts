// Reference vectors produced by QEMU's softfloat (see fpu-vectors/generate.py):
// every instruction, every rounding mode, raw register contents and fflags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createFpuState, executeFp, FFLAG_NX } from '../src/fpu/index.ts';
import {
  F32,
  F64,
  type FloatFormat,
  sfAdd,
  sfConvert,
  sfDiv,
  sfFma,
  sfFromInt,
  sfMul,
  sfSqrt,
  sfState,
  sfToInt,
} from '../src/fpu/softfloat.ts';

interface Vector {
  name: string;
  insn: number;
  rm: number;
  a: bigint;
  b: bigint;
  c: bigint;
  result: bigint;
  flags: number;
}

const vectors: Vector[] = gunzipSync(readFileSync(join(import.meta.dirname, 'fpu-vectors', 'vectors.txt.gz')))
  .toString('utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [name, insn, rm, a, b, c, result, flags] = line.split(' ');
    return {
      name,
      insn: Number.parseInt(insn, 16),
      rm: Number(rm),
      a: BigInt(`0x${a}`),
      b: BigInt(`0x${b}`),
      c: BigInt(`0x${c}`),
      result: BigInt(`0x${result}`),
      flags: Number.parseInt(flags, 16),
    };
  });

const INT_DEST = /^(fle|flt|feq|fclass|fmv\.x|fcvt\.(w|wu|l|lu)\.)/;

function setF(f: Uint32Array, r: number, v: bigint): void {
  f[2 * r] = Number(v & 0xffffffffn);
  f[2 * r + 1] = Number(v >> 32n);
}

function getF(f: Uint32Array, r: number): bigint {
  return (BigInt(f[2 * r + 1]) << 32n) | BigInt(f[2 * r]);
}

/** Run one vector; frm and the instruction's rm field are chosen by the caller. */
function run(v: Vector, insn: number, frm: number, preset = 0): string | null {
  const fpu = createFpuState();
  fpu.fflags = preset;
  setF(fpu.f, 11, v.a);
  setF(fpu.f, 12, v.b);
  setF(fpu.f, 13, v.c);
  fpu.x[11] = BigInt.asIntN(64, v.a);
  fpu.frm = frm;
  if (!executeFp(fpu, insn)) return `${v.name} rm=${v.rm}: rejected as illegal`;
  const got = INT_DEST.test(v.name) ? BigInt.asUintN(64, fpu.x[10]) : getF(fpu.f, 10);
  if (got !== v.result || fpu.fflags !== (v.flags | preset)) {
    const hex = (x: bigint) => x.toString(16).padStart(16, '0');
    return (
      `${v.name} rm=${v.rm} a=${hex(v.a)} b=${hex(v.b)} c=${hex(v.c)}: ` +
      `got ${hex(got)}/${fpu.fflags.toString(16)} want ${hex(v.result)}/${v.flags.toString(16)}`
    );
  }
  return null;
}

describe('QEMU reference vectors', () => {
  const groups = new Map<string, Vector[]>();
  for (const v of vectors) {
    const key = v.name.replace(/\.[sd]$/, '').replace(/^(fcvt|fmv)\..*/, '$1');
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }

  it('has vectors for every group', () => {
    expect(vectors.length).toBeGreaterThan(10000);
    expect([...groups.keys()].sort()).toEqual(
      [
        'fadd',
        'fclass',
        'fcvt',
        'fdiv',
        'feq',
        'fle',
        'flt',
        'fmadd',
        'fmax',
        'fmin',
        'fmsub',
        'fmul',
        'fmv',
        'fnmadd',
        'fnmsub',
        'fsgnj',
        'fsgnjn',
        'fsgnjx',
        'fsqrt',
        'fsub',
      ].sort(),
    );
  });

  for (const [group, list] of groups) {
    it(`${group}: dynamic rounding (frm) matches QEMU bit for bit, flags included`, () => {
      const failures = list.map((v) => run(v, v.insn, v.rm)).filter((x) => x !== null);
      expect(failures.slice(0, 20)).toEqual([]);
    });

    it(`${group}: the same with NX already accrued (flags OR in; RNE shortcuts)`, () => {
      const failures = list.map((v) => run(v, v.insn, v.rm, FFLAG_NX)).filter((x) => x !== null);
      expect(failures.slice(0, 20)).toEqual([]);
    });

    it(`${group}: static rounding in the rm field matches too (frm left invalid)`, () => {
      const failures = list
        .filter((v) => ((v.insn >>> 12) & 7) === 7)
        .map((v) => run(v, (v.insn & ~0x7000) | (v.rm << 12), 5))
        .filter((x) => x !== null);
      expect(failures.slice(0, 20)).toEqual([]);
    });
  }

  it('the exact softfloat alone (no fast paths) matches every rounded operation', () => {
    const unbox = (fmt: FloatFormat, raw: bigint) =>
      fmt === F64 ? raw : raw >> 32n === 0xffffffffn ? raw & 0xffffffffn : F32.canonicalNaN;
    const failures: string[] = [];
    let checked = 0;
    for (const v of vectors) {
      const parts = v.name.split('.');
      const fmt = parts[parts.length - 1] === 'd' ? F64 : F32;
      const [a, b, c] = [unbox(fmt, v.a), unbox(fmt, v.b), unbox(fmt, v.c)];
      const rm = v.rm;
      const box = (fmt2: FloatFormat, r: bigint) => (fmt2 === F32 ? 0xffffffff00000000n | r : r);
      sfState.flags = 0;
      let got: bigint;
      switch (parts[0]) {
        case 'fadd':
        case 'fsub':
          got = box(fmt, sfAdd(fmt, a, b, rm, parts[0] === 'fsub'));
          break;
        case 'fmul':
          got = box(fmt, sfMul(fmt, a, b, rm));
          break;
        case 'fdiv':
          got = box(fmt, sfDiv(fmt, a, b, rm));
          break;
        case 'fsqrt':
          got = box(fmt, sfSqrt(fmt, a, rm));
          break;
        case 'fmadd':
        case 'fmsub':
        case 'fnmsub':
        case 'fnmadd': {
          const negProd = parts[0].startsWith('fn');
          const negAdd = parts[0] === 'fmsub' || parts[0] === 'fnmadd';
          got = box(fmt, sfFma(fmt, a, b, c, rm, negProd, negAdd));
          break;
        }
        case 'fcvt': {
          const [, to, from] = parts;
          const ints = ['w', 'wu', 'l', 'lu'];
          if (ints.includes(to)) {
            const src = from === 'd' ? F64 : F32;
            const width = to.startsWith('w') ? 32 : 64;
            const r = sfToInt(src, unbox(src, v.a), rm, width, !to.endsWith('u'));
            got = BigInt.asUintN(64, BigInt.asIntN(width, r));
          } else if (ints.includes(from)) {
            const dst = to === 'd' ? F64 : F32;
            const x =
              from === 'w'
                ? BigInt.asIntN(32, v.a)
                : from === 'wu'
                  ? BigInt.asUintN(32, v.a)
                  : from === 'l'
                    ? BigInt.asIntN(64, v.a)
                    : v.a;
            got = box(dst, sfFromInt(dst, x, rm));
          } else {
            const [src, dst] = to === 's' ? [F64, F32] : [F32, F64];
            got = box(dst, sfConvert(src, dst, unbox(src, v.a), rm));
          }
          break;
        }
        default:
          continue;
      }
      checked++;
      if (got !== v.result || sfState.flags !== v.flags) {
        failures.push(
          `${v.name} rm=${rm} ${v.a.toString(16)} ${v.b.toString(16)} ${v.c.toString(16)}: got ${got.toString(16)}/${sfState.flags}`,
        );
      }
    }
    expect(checked).toBeGreaterThan(30000);
    expect(failures.slice(0, 20)).toEqual([]);
  });
});
