import { describe, expect, it } from 'vitest';
import { errnoOf } from '../src/index.ts';

/** The shape of core-bus's KernelError (test-utils cannot depend on core-bus; its tests use errnoOf on the real one). */
class FakeKernelError extends Error {
  override readonly name = 'KernelError';
  constructor(readonly code: string) {
    super(code);
  }
}

describe('errnoOf', () => {
  it("gives the thrown KernelError's code", () => {
    expect(
      errnoOf(() => {
        throw new FakeKernelError('EINVAL');
      }),
    ).toBe('EINVAL');
  });

  it('is undefined when nothing is thrown', () => {
    expect(errnoOf(() => 42)).toBeUndefined();
  });

  it('rethrows anything that is not a KernelError', () => {
    const bug = new TypeError('x is undefined');
    expect(() =>
      errnoOf(() => {
        throw bug;
      }),
    ).toThrow(bug);
    const fsError = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(() =>
      errnoOf(() => {
        throw fsError;
      }),
    ).toThrow(fsError);
  });
});
