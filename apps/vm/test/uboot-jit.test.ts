import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

/** CRC-32 (IEEE, reflected, as U-Boot's crc32 command) of `data`. */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

// Real firmware through the block compiler: U-Boot fills 64 KiB with a word
// pattern, checksums it whole and from an odd address over an odd length,
// compares it with itself shifted by one word, and copies it byte by byte to
// an odd address and checksums the copy. With every block compiled the first
// time it is reached (as WebAssembly, the default, or as JavaScript), and
// with the interpreter alone, U-Boot must print what is computed here.
describe("Debian's U-Boot through the block compiler", () => {
  const pattern = new Uint8Array(0x10000);
  new DataView(pattern.buffer).setUint32(0, 0x12345678, true);
  for (let i = 4; i < pattern.length; i++) pattern[i] = pattern[i - 4]!;
  const hex = (v: number) => v.toString(16).padStart(8, '0');
  const whole = hex(crc32(pattern));
  const odd = hex(crc32(pattern.subarray(1, 1 + 0xfffd)));

  for (const flags of [
    ['--jit-threshold', '1'],
    ['--jit-tier', 'wasm', '--jit-threshold', '1'],
    ['--no-jit'],
  ]) {
    it(`mw, crc32 (whole and from an odd address), cmp and cp print the expected results (${flags.join(' ')})`, async () => {
      const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
      if (!uboot) return;
      const prompt = '=> ';
      const { result, output } = await boot(
        ['--kernel', uboot, '--cpus', '1', ...flags],
        [
          { expect: 'Hit any key to stop autoboot', send: ' ' },
          { expect: prompt, send: 'mw.l 82000000 12345678 4000\r' },
          { expect: prompt, send: 'crc32 82000000 10000\r' },
          { expect: prompt, send: 'crc32 82000001 fffd\r' },
          { expect: prompt, send: 'cmp.b 82000000 82000004 fffc\r' },
          { expect: prompt, send: 'cp.b 82000000 82100003 10000\r' },
          { expect: prompt, send: 'crc32 82100003 10000\r' },
          { expect: prompt, send: 'poweroff\r' },
        ],
      );
      expect(output).toContain(`crc32 for 82000000 ... 8200ffff ==> ${whole}`);
      expect(output).toContain(`crc32 for 82000001 ... 8200fffd ==> ${odd}`);
      expect(output).toContain('Total of 65532 byte(s) were the same');
      expect(output).toContain(`crc32 for 82100003 ... 82110002 ==> ${whole}`);
      expect(result.status).toBe(0);
    }, 120_000);
  }
});
