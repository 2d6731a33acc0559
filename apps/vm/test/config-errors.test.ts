import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmConfigError } from '../src/config-error.ts';
import { main } from '../src/main.ts';
import { boot } from '../src/scripted-boot.ts';

async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('no error');
}

describe('bad configuration is a one-line error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-cfg-'));

  it('an unknown mdev type lists the known ones', async () => {
    expect(await configError(boot(['--mdev', 'nvidia-a100']))).toMatch(
      /unknown mdev type nvidia-a100 \(available: sample_gpu-small, sample_gpu-medium, sample_gpu-large\)/,
    );
  });

  it('a kernel file that does not exist', async () => {
    expect(await configError(main(['--kernel', join(dir, 'missing.bin')]))).toMatch(/no such file/);
  });

  it('a kernel that is not RISC-V', async () => {
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    new DataView(elf.buffer).setUint16(18, 62, true); // EM_X86_64
    writeFileSync(join(dir, 'x86.elf'), elf);
    expect(await configError(main(['--kernel', join(dir, 'x86.elf')]))).toMatch(/not a RISC-V kernel/);
  });

  it('memory too small for the kernel', async () => {
    writeFileSync(join(dir, 'big.bin'), new Uint8Array(3 << 20));
    expect(await configError(boot(['--mem', '4M', '--kernel', join(dir, 'big.bin')]))).toMatch(/raise --mem/);
  });

  it('more instances than the VRAM pool holds (the vendor counts, so ENOSPC as mbochs)', async () => {
    const many = Array.from({ length: 3 }, () => ['--mdev', 'sample_gpu-large']).flat();
    expect(await configError(boot(many))).toMatch(/--mdev sample_gpu-large: .*ENOSPC/);
  });

  it('a plugin file that does not exist', async () => {
    expect(await configError(boot(['--plugin', join(dir, 'nope.ts')]))).toMatch(/--plugin .*not found/);
  });
});
