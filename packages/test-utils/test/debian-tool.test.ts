import { afterEach, expect, it } from 'vitest';
import { requireDebianTool } from '../src/index.ts';

const savedCi = process.env.CI;
afterEach(() => {
  if (savedCi === undefined) delete process.env.CI;
  else process.env.CI = savedCi;
});

it('finds a tool that exists', () => {
  expect(requireDebianTool('sh', 'dash')).toMatch(/\/sh$/);
  expect(requireDebianTool('/bin/sh', 'dash')).toBe('/bin/sh');
});

it('fails in CI naming the package when a tool is missing, skips locally', () => {
  process.env.CI = 'true';
  expect(() => requireDebianTool('no-such-tool-xyz', 'some-package')).toThrow(
    /install Debian's some-package/,
  );
  delete process.env.CI;
  expect(requireDebianTool('no-such-tool-xyz', 'some-package')).toBeUndefined();
});
