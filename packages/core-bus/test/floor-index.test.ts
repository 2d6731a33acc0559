import { describe, expect, it } from 'vitest';
import { floorIndex } from '../src/index.ts';

describe('floorIndex', () => {
  const bases = [0x1000, 0x2000, 0x8000];

  it('finds the last base at or below the key', () => {
    expect(floorIndex(bases, 0x1000)).toBe(0);
    expect(floorIndex(bases, 0x1fff)).toBe(0);
    expect(floorIndex(bases, 0x2000)).toBe(1);
    expect(floorIndex(bases, 0x7fff)).toBe(1);
    expect(floorIndex(bases, 0x8000)).toBe(2);
    expect(floorIndex(bases, Number.MAX_SAFE_INTEGER)).toBe(2);
  });

  it('is -1 below the first base and for an empty list', () => {
    expect(floorIndex(bases, 0xfff)).toBe(-1);
    expect(floorIndex([], 5)).toBe(-1);
  });
});
