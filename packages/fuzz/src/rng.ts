/**
 * mulberry32: a small seeded PRNG whose low bits are as good as its high ones
 * (riscv-hart's block-compiler tests found an LCG's low bits hid a bug).
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A uniform u32. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list');
    return xs[this.below(xs.length)]!;
  }

  /** A u64 as bigint. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** The list in a random order (Fisher-Yates), as a new array. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const U64_EDGES = [
  0n,
  1n,
  0xfffn,
  0x1000n,
  0x1001n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  0x1_0000_0000n,
  1n << 44n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 0x1000n,
  (1n << 64n) - 1n,
];

/**
 * A u64 argument biased to the values that find bugs: mostly "reasonable"
 * values from `typical()`, sometimes an edge (0, page +- 1, 2^31, 2^32,
 * 2^63, 2^64 - 1), sometimes anything, rarely not a u64 at all.
 */
export function fuzzU64(rng: Rng, typical: () => bigint): bigint | number | undefined {
  const r = rng.below(100);
  if (r < 75) return typical();
  if (r < 90) return rng.pick(U64_EDGES);
  if (r < 97) return rng.u64();
  return rng.pick<bigint | number | undefined>([-1n, 1n << 64n, 4096, undefined]);
}

/** A u32-ish argument: typical, an edge, or anything. */
export function fuzzU32(rng: Rng, typical: () => number): number {
  const r = rng.below(100);
  if (r < 80) return typical();
  if (r < 95) return rng.pick([0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, -1]);
  return rng.u32();
}
