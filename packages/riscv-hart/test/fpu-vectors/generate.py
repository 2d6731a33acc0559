#!/usr/bin/env python3
"""Generate reference vectors for the FPU tests by running each instruction
under qemu-riscv64 (QEMU's softfloat is the reference).

Needs Debian's gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross and qemu-user.
Run from this directory:  python3 generate.py  (writes vectors.txt.gz).

Each output line: name insn rm a b c result fflags (hex). The instruction
uses rd=10, rs1=11, rs2=12, rs3=13 and the dynamic rounding mode (rm field 7,
frm = rm). a/b/c are the raw 64-bit contents of f11/f12/f13 (a is also x11
for integer sources); result is the raw f10 or x10 afterwards.
"""
import gzip
import os
import random
import struct
import subprocess
import tempfile

RD, RS1, RS2, RS3 = 10, 11, 12, 13
rng = random.Random(20261122)


def r_type(funct7, rs2, funct3):
    return (funct7 << 25) | (rs2 << 20) | (RS1 << 15) | (funct3 << 12) | (RD << 7) | 0x53


def r4_type(opcode, fmt):
    return (RS3 << 27) | (fmt << 25) | (RS2 << 20) | (RS1 << 15) | (7 << 12) | (RD << 7) | opcode


# (name, insn, source formats, uses rm, case count)
# source formats: 's'/'d' float operands, 'x32'/'x64' integer operand in x11
OPS = []
for fmt, sfx in ((0, 's'), (1, 'd')):
    f = sfx
    OPS += [
        (f'fadd.{f}', r_type(0x00 | fmt, RS2, 7), [f, f], True, 80),
        (f'fsub.{f}', r_type(0x04 | fmt, RS2, 7), [f, f], True, 80),
        (f'fmul.{f}', r_type(0x08 | fmt, RS2, 7), [f, f], True, 80),
        (f'fdiv.{f}', r_type(0x0C | fmt, RS2, 7), [f, f], True, 80),
        (f'fsqrt.{f}', r_type(0x2C | fmt, 0, 7), [f], True, 60),
        (f'fsgnj.{f}', r_type(0x10 | fmt, RS2, 0), [f, f], False, 40),
        (f'fsgnjn.{f}', r_type(0x10 | fmt, RS2, 1), [f, f], False, 40),
        (f'fsgnjx.{f}', r_type(0x10 | fmt, RS2, 2), [f, f], False, 40),
        (f'fmin.{f}', r_type(0x14 | fmt, RS2, 0), [f, f], False, 120),
        (f'fmax.{f}', r_type(0x14 | fmt, RS2, 1), [f, f], False, 120),
        (f'fle.{f}', r_type(0x50 | fmt, RS2, 0), [f, f], False, 100),
        (f'flt.{f}', r_type(0x50 | fmt, RS2, 1), [f, f], False, 100),
        (f'feq.{f}', r_type(0x50 | fmt, RS2, 2), [f, f], False, 100),
        (f'fclass.{f}', r_type(0x70 | fmt, 0, 1), [f], False, 80),
        (f'fmv.x.{"w" if f == "s" else "d"}', r_type(0x70 | fmt, 0, 0), [f], False, 30),
        (f'fmv.{"w" if f == "s" else "d"}.x', r_type(0x78 | fmt, 0, 0), ['x64'], False, 30),
        (f'fcvt.w.{f}', r_type(0x60 | fmt, 0, 7), [f], True, 60),
        (f'fcvt.wu.{f}', r_type(0x60 | fmt, 1, 7), [f], True, 60),
        (f'fcvt.l.{f}', r_type(0x60 | fmt, 2, 7), [f], True, 60),
        (f'fcvt.lu.{f}', r_type(0x60 | fmt, 3, 7), [f], True, 60),
        (f'fcvt.{f}.w', r_type(0x68 | fmt, 0, 7), ['x32'], True, 40),
        (f'fcvt.{f}.wu', r_type(0x68 | fmt, 1, 7), ['x32'], True, 40),
        (f'fcvt.{f}.l', r_type(0x68 | fmt, 2, 7), ['x64'], True, 60),
        (f'fcvt.{f}.lu', r_type(0x68 | fmt, 3, 7), ['x64'], True, 60),
        (f'fmadd.{f}', r4_type(0x43, fmt), [f, f, f], True, 200),
        (f'fmsub.{f}', r4_type(0x47, fmt), [f, f, f], True, 100),
        (f'fnmsub.{f}', r4_type(0x4B, fmt), [f, f, f], True, 100),
        (f'fnmadd.{f}', r4_type(0x4F, fmt), [f, f, f], True, 100),
    ]
OPS.append(('fcvt.s.d', r_type(0x20, 1, 7), ['d'], True, 120))
OPS.append(('fcvt.d.s', r_type(0x21, 0, 7), ['s'], True, 40))

S_SPECIAL = [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000,
             0x80800000, 0x00800001, 0x3F800000, 0xBF800000, 0x3FC00000, 0xBFC00000, 0x3F000000,
             0xBF000000, 0x40200000, 0xC0200000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
             0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFA00000, 0x7FC00001, 0x4F000000, 0xCF000000,
             0x4EFFFFFF, 0x4F800000, 0x5F000000, 0xDF000000, 0x5F800000, 0x4B000001, 0x3F7FFFFF,
             0x00400000, 0x34000000, 0x33800000, 0x7E800000, 0x01000000]
D_SPECIAL = [0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x8000000000000001,
             0x000FFFFFFFFFFFFF, 0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x8010000000000000,
             0x3FF0000000000000, 0xBFF0000000000000, 0x3FF8000000000000, 0xBFF8000000000000,
             0x3FE0000000000000, 0xBFE0000000000000, 0x4004000000000000, 0xC004000000000000,
             0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000,
             0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF4000000000000,
             0x41E0000000000000, 0xC1E0000000000000, 0x41DFFFFFFFC00000, 0x41DFFFFFFFFFFFFF,
             0x41F0000000000000, 0x43E0000000000000, 0xC3E0000000000000, 0x43F0000000000000,
             0x43EFFFFFFFFFFFFF, 0x3FEFFFFFFFFFFFFF, 0x47EFFFFFE0000000, 0x47EFFFFFF0000000,
             0x380FFFFFF0000000, 0x3810000000000000, 0x36A0000000000000, 0x3690000000000000,
             0x7FE0000000000000, 0x0020000000000000, 0x41DFFFFFFFE00000, 0xC1E0000000100000]
X_SPECIAL = [0, 1, (1 << 64) - 1, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63,
             (1 << 24) + 1, (1 << 24) + 3, (1 << 25) + 2, (1 << 53) + 1, (1 << 53) + 3, (1 << 54) + 2,
             (1 << 64) - (1 << 24) - 1, 0xFFFFFFFF80000000, 0x00000000FFFFFFFF, 0xFFFFFF7FFFFFFF81]

FMT = {'s': (8, 23, S_SPECIAL), 'd': (11, 52, D_SPECIAL)}


def rand_float(f, near=None):
    eb, mb, special = FMT[f]
    bias = (1 << (eb - 1)) - 1
    emax = (1 << eb) - 1
    pick = rng.random()
    if pick < 0.2:
        return rng.choice(special)
    sign = rng.getrandbits(1)
    if near is not None and pick < 0.55:
        e = max(0, min(emax - 1, near + rng.randint(-(mb + 3), mb + 3)))
    elif pick < 0.7:
        e = bias + rng.randint(-8, 40)
    elif pick < 0.8:
        e = rng.randint(0, mb + 2)  # subnormal and tiny normals
    elif pick < 0.87:
        e = rng.randint(emax - 4, emax - 1)
    else:
        e = rng.randint(0, emax)
    style = rng.random()
    if style < 0.5:
        m = rng.getrandbits(mb)
    elif style < 0.75:
        m = rng.getrandbits(8) << (mb - 8)  # short significand: exact products/sums
    else:
        m = (rng.getrandbits(mb) | 1) & ~(rng.getrandbits(1) << (mb - 1))
    return (sign << (eb + mb)) | (e << mb) | m


def exp_of(f, bits):
    eb, mb, _ = FMT[f]
    return (bits >> mb) & ((1 << eb) - 1)


def boxed(f, bits):
    if f == 'd':
        return bits
    if rng.random() < 0.04:
        return (rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFE]) << 32) | bits  # improperly boxed
    return (0xFFFFFFFF << 32) | bits


def to_float(f, bits):
    return struct.unpack('<f', struct.pack('<I', bits))[0] if f == 's' else struct.unpack('<d', struct.pack('<Q', bits))[0]


def from_float(f, v):
    try:
        return struct.unpack('<I', struct.pack('<f', v))[0] if f == 's' else struct.unpack('<Q', struct.pack('<d', v))[0]
    except OverflowError:
        return None


def rand_int(kind):
    if rng.random() < 0.25:
        v = rng.choice(X_SPECIAL)
    else:
        width = rng.choice([8, 20, 24, 25, 26, 31, 32, 33, 53, 54, 55, 62, 63, 64])
        v = rng.getrandbits(width)
        if rng.random() < 0.4:
            v = (1 << (width - 1)) | (v & ((1 << rng.randint(1, 6)) - 1)) | (v >> (width // 2) << (width // 2))
        if rng.random() < 0.5:
            v = (-v) & ((1 << 64) - 1)
    if kind == 'x32' and rng.random() < 0.5:
        v = (v & 0xFFFFFFFF) | (rng.getrandbits(32) << 32)
    return v


def int_like(f):
    """Values near the integer-conversion boundaries and ties."""
    base = rng.choice([0, 1, 2, 3, 100, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**52, 2**63, 2**64, 2**24])
    frac = rng.choice([0, 0.25, 0.5, 0.75, -0.25, -0.5, -0.75, 1e-3, -1e-3])
    v = (base + frac) * rng.choice([1, -1])
    b = from_float(f, v)
    return b if b is not None else rand_float(f)


def tie_pair(f, additive):
    """Operands whose exact sum or product lies exactly halfway between two
    neighbours (RNE and RMM then differ when the lower one is even)."""
    eb, mb, _ = FMT[f]
    p = mb + 1
    bias = (1 << (eb - 1)) - 1
    scale = rng.randint(-20, 20)
    sa, sb = rng.getrandbits(1), rng.getrandbits(1)
    if additive:
        # a has a full significand; b is exactly half of a's ulp (times an odd factor below it).
        a = (sa << (eb + mb)) | ((bias + scale) << mb) | rng.getrandbits(mb)
        b = (sb << (eb + mb)) | ((bias + scale - p) << mb) | (rng.getrandbits(3) << (mb - 3) if rng.random() < 0.3 else 0)
        return a, b
    k = rng.randint(1, p - 2)
    # (1 + 2^-k)(1 + 2^-(p-k)) = 1 + 2^-k + 2^-(p-k) + 2^-p: the last term is half an ulp.
    a = (sa << (eb + mb)) | ((bias + scale) << mb) | (1 << (mb - k))
    b = (sb << (eb + mb)) | ((bias - scale) << mb) | (1 << (mb - (p - k)))
    return a, b


def make_cases(name, srcs, n):
    cases = []
    for _ in range(n):
        ops = []
        if srcs[0].startswith('x'):
            ops = [rand_int(srcs[0]), 0, 0]
        elif name.startswith('fcvt.') and name.split('.')[1] in ('w', 'wu', 'l', 'lu'):
            f = srcs[0]
            a = int_like(f) if rng.random() < 0.5 else rand_float(f)
            ops = [boxed(f, a), 0, 0]
        else:
            f = srcs[0]
            a = rand_float(f)
            vals = [a]
            for _k in srcs[1:]:
                vals.append(rand_float(f, near=exp_of(f, a)))
            if len(srcs) >= 2 and name.startswith(('fmul', 'fdiv', 'fmadd', 'fnmsub')) and rng.random() < 0.3:
                # Steer the result to the edges: around the smallest normal (tininess
                # after rounding) or the largest finite value (overflow).
                target = rng.choice([2.0 ** -126, 2.0 ** -1022, 3.4028234663852886e38, 1.7976931348623157e308,
                                     2.0 ** -149, 2.0 ** -1074])
                av = to_float(f, a)
                if av == av and av not in (0.0, float('inf'), float('-inf')):
                    want = target / av if name.startswith(('fmul', 'fmadd', 'fnmsub')) else av / target
                    bb = from_float(f, abs(want))
                    if bb is not None and bb != 0:
                        vals[1] = (bb + rng.randint(-3, 3)) & ((1 << (32 if f == 's' else 64)) - 1)
            if len(srcs) >= 2 and rng.random() < 0.15 and name.startswith(('fadd', 'fsub', 'fmul', 'fmadd')):
                vals[0], vals[1] = tie_pair(f, name.startswith(('fadd', 'fsub')))
            if name.startswith('fdiv') and rng.random() < 0.05:
                vals[1] = rng.choice([0, 1]) << (31 if f == 's' else 63)
            if len(srcs) == 3 and rng.random() < 0.5:
                # An addend close to -(a*b) makes the fused sum cancel.
                prod = to_float(f, vals[0]) * to_float(f, vals[1])
                c = from_float(f, -prod if rng.random() < 0.5 else prod)
                if c is not None and prod == prod:
                    c ^= rng.choice([0, 0, 1, 2, 3])
                    vals[2] = c
            elif len(srcs) == 3 and rng.random() < 0.3:
                eb, mb, _ = FMT[f]
                vals[2] = rand_float(f, near=max(0, exp_of(f, vals[0]) + exp_of(f, vals[1]) - ((1 << (eb - 1)) - 1)))
            ops = [boxed(f, v) for v in vals] + [0] * (3 - len(vals))
        cases.append(ops)
    return cases


C_HEAD = r'''
#include <stdio.h>
#include <stdint.h>
static void run(int op, uint64_t a, uint64_t b, uint64_t c, uint64_t rm, uint64_t *rf, uint64_t *rx, uint64_t *fl) {
  uint64_t r = 0, x = 0, f = 0;
  switch (op) {
'''
C_CASE = r'''  case %d: __asm__ volatile(
    "fmv.d.x f11, %%[a]\n\tfmv.d.x f12, %%[b]\n\tfmv.d.x f13, %%[c]\n\tmv a1, %%[a]\n\t"
    "fmv.d.x f10, zero\n\tli a0, 0\n\tcsrw frm, %%[rm]\n\tcsrw fflags, zero\n\t"
    ".word 0x%08x\n\t"
    "frflags %%[f]\n\tfmv.x.d %%[r], f10\n\tmv %%[x], a0\n\t"
    : [r] "=&r"(r), [x] "=&r"(x), [f] "=&r"(f)
    : [a] "r"(a), [b] "r"(b), [c] "r"(c), [rm] "r"(rm)
    : "a0", "a1", "f10", "f11", "f12", "f13", "memory"); break;
'''
C_TAIL = r'''  }
  *rf = r; *rx = x; *fl = f;
}
int main(void) {
  int op; unsigned long long rm, a, b, c;
  while (scanf("%d %llx %llx %llx %llx", &op, &rm, &a, &b, &c) == 5) {
    uint64_t rf, rx, fl;
    run(op, a, b, c, rm, &rf, &rx, &fl);
    printf("%016llx %016llx %llx\n", (unsigned long long)rf, (unsigned long long)rx, (unsigned long long)fl);
  }
  return 0;
}
'''


def main():
    src = C_HEAD + ''.join(C_CASE % (i, op[1]) for i, op in enumerate(OPS)) + C_TAIL
    work = tempfile.mkdtemp()
    cpath = os.path.join(work, 'fpuref.c')
    exe = os.path.join(work, 'fpuref')
    with open(cpath, 'w') as fh:
        fh.write(src)
    subprocess.run(['riscv64-linux-gnu-gcc', '-O1', '-static', '-march=rv64gc', cpath, '-o', exe], check=True)
    jobs = []
    for i, (name, insn, srcs, uses_rm, n) in enumerate(OPS):
        cases = make_cases(name, srcs, n * 3)
        for ops in cases:
            for rm in (range(5) if uses_rm else [0]):
                jobs.append((i, rm, ops))
    stdin = ''.join('%d %x %x %x %x\n' % (i, rm, *ops) for i, rm, ops in jobs)
    out = subprocess.run(['qemu-riscv64', exe], input=stdin, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == len(jobs)
    rows = []
    for (i, rm, ops), line in zip(jobs, lines):
        name, insn, srcs, _u, _n = OPS[i]
        rf, rx, fl = line.split()
        int_dest = name.startswith(('fle', 'flt', 'feq', 'fclass', 'fmv.x')) or (
            name.startswith('fcvt.') and name.split('.')[1] in ('w', 'wu', 'l', 'lu'))
        res = rx if int_dest else rf
        rows.append('%s %08x %d %016x %016x %016x %s %s' % (name, insn, rm, ops[0], ops[1], ops[2], res, fl))
    with gzip.open('vectors.txt.gz', 'wt', compresslevel=9) as fh:
        fh.write('\n'.join(rows) + '\n')
    print(len(rows), 'vectors')


if __name__ == '__main__':
    main()
