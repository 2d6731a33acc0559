import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csrrs, fld, jalr, lui, lw } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';

const app = join(import.meta.dirname, '..');
const fixtures = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'vm-proc-err-'));

/** Run the VMM as a process (node with tsx, as scripts/vm.sh does after set-up), stdin not a TTY. */
function vm(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: app,
    encoding: 'utf8',
    input: '',
    timeout: 120_000,
  });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    lines: r.stderr.split('\n').filter(Boolean),
  };
}

function flat(name: string, words: readonly number[]): string {
  const file = join(dir, name);
  writeFileSync(file, new Uint8Array(Uint32Array.from(words).buffer));
  return file;
}

/** Bad configuration: exactly one line on stderr, status 2, and the guest never ran (nothing on stdout). */
function refused(args: string[]): string {
  const r = vm(args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.lines).toHaveLength(1);
  expect(r.stdout).toBe('');
  return r.lines[0]!;
}

describe('the VMM process: a hostile guest is a VM error (status 3) with a summary', () => {
  it.each([
    [
      'a jump where there is no memory',
      [lui(5, 1), jalr(0, 5, 0)],
      'EOPNOTSUPP (instruction fetch at gpa 0x1000), pc 0x1000',
    ],
    [
      'an FP load from MMIO',
      [lui(6, 2), csrrs(0, 0x100, 6), lui(5, 0x10000), fld(0, 5, 0)],
      'EOPNOTSUPP (FP load 0x3007 on MMIO at gpa 0x10000000), pc 0x8020000c',
    ],
    [
      'a misaligned MMIO load',
      [lui(5, 0x10000), lw(10, 5, 2)],
      'EIO (misaligned 4-byte MMIO load at gpa 0x10000002), pc 0x80200004',
    ],
  ])(
    '%s',
    (name, words, why) => {
      const r = vm(['--kernel', flat(`${name.replaceAll(' ', '-')}.bin`, words)]);
      expect(r.status).toBe(3);
      // The device's UUID before the guest runs, then the summary.
      expect(r.lines[0]).toMatch(/^vm: mdev [0-9a-f-]{36} \(sample_gpu-small on sample-gpu\) at 00:01\.0$/);
      expect(r.lines[1]).toBe(`vm: vCPU 0: KVM_RUN failed: ${why} (status 3)`);
      expect(r.lines[2]).toMatch(/^vm: \d+ instructions retired in/);
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
      // --no-summary: the reason alone.
      const quiet = vm(['--no-summary', '--kernel', flat(`${name.replaceAll(' ', '-')}.bin`, words)]);
      expect([quiet.status, quiet.lines]).toEqual([3, [`vm: vCPU 0: KVM_RUN failed: ${why}`]]);
    },
    120_000,
  );
});

describe('the VMM process: bad configuration is one line and status 2, before the guest runs', () => {
  it('--mem beyond what the board holds', () => {
    expect(refused(['--mem', '100T'])).toBe(
      'vm: --mem 100T: RAM is one KVM memslot, at most KVM_MEM_MAX_NR_PAGES (2147483647) pages of 4 KiB',
    );
    expect(refused(['--mem', '0'])).toBe('vm: --mem 0: guest RAM cannot be empty');
  }, 60_000);

  it('a kernel that is a device, or an ELF with a bad program header size', () => {
    expect(refused(['--kernel', '/dev/zero'])).toBe('vm: --kernel /dev/zero: not a regular file');
    const elf = new Uint8Array(64 + 56 + 8);
    const dv = new DataView(elf.buffer);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    dv.setUint16(18, 243, true);
    dv.setBigUint64(32, BigInt(elf.length - 8), true); // phoff: the last 8 bytes
    dv.setUint32(elf.length - 8, 1, true); // a PT_LOAD whose other fields would lie past the end
    dv.setUint16(54, 8, true); // e_phentsize 8
    dv.setUint16(56, 1, true);
    const file = join(dir, 'phentsize8.elf');
    writeFileSync(file, elf);
    expect(refused(['--kernel', file])).toBe(
      `vm: ${file}: program header entries of 8 bytes (an ELF64 one is 56)`,
    );
  }, 60_000);

  it('--screenshot into a directory that does not exist, or onto a directory', () => {
    const missing = join(dir, 'no-such-dir', 'shot.png');
    expect(refused(['--screenshot', missing])).toBe(
      `vm: --screenshot ${missing}: directory ${join(dir, 'no-such-dir')} does not exist`,
    );
    expect(refused(['--screenshot', dir])).toBe(`vm: --screenshot ${dir}: is a directory`);
  }, 60_000);

  it('a plugin whose register() throws, that lacks a dependency, duplicates a name or a parent, or forms a cycle', () => {
    const p = (f: string) => join(fixtures, f);
    expect(refused(['--plugin', p('plugin-register-throws.ts')])).toBe(
      `vm: --plugin ${p('plugin-register-throws.ts')}: module broken-gpu: register() failed: firmware blob not found (EINVAL)`,
    );
    expect(refused(['--plugin', p('plugin-missing-dep.ts')])).toBe(
      `vm: --plugin ${p('plugin-missing-dep.ts')}: module needs-nvidia depends on nvidia-core, which is not loaded (ENOENT)`,
    );
    expect(refused(['--plugin', p('plugin-dup-name.ts')])).toBe(
      `vm: --plugin ${p('plugin-dup-name.ts')}: module sample-vendor-gpu is given twice (EEXIST)`,
    );
    expect(refused(['--plugin', p('plugin-dup-parent.ts')])).toBe(
      `vm: --plugin ${p('plugin-dup-parent.ts')}: module second-sample-gpu: register() failed: mdev_register_device: parent sample-gpu is already registered (EEXIST)`,
    );
    expect(refused(['--plugin', p('plugin-cycle-a.ts'), '--plugin', p('plugin-cycle-b.ts')])).toBe(
      `vm: --plugin ${p('plugin-cycle-a.ts')}: module dependency cycle: cycle-a -> cycle-b -> cycle-a (ELOOP)`,
    );
  }, 120_000);
});

describe('the VMM process: a screenshot that fails after the guest ran', () => {
  it("is one line, and the guest's own status is kept", () => {
    // /proc/version passes the up-front check only for root (access(2) grants it W_OK); the write itself fails.
    const r = vm(['--screenshot', '/proc/version']);
    if (process.getuid?.() !== 0) {
      expect([r.status, r.lines]).toEqual([2, ['vm: --screenshot /proc/version: not writable']]);
      return;
    }
    expect(r.status).toBe(0);
    expect(r.lines[0]).toMatch(/^vm: mdev [0-9a-f-]{36} /); // the device line before the guest runs
    expect(r.lines[1]).toMatch(/^vm: --screenshot \/proc\/version: E[A-Z]+: /);
    expect(r.lines[2]).toBe('vm: guest shut down (status 0)');
  }, 120_000);
});

describe('the VMM process: stdout closed early', () => {
  it('ends the run quietly with status 141 (as `| head -1` does), no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Read the first chunk, then close the pipe as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(status).toBe(141);
    expect(stderr).not.toMatch(/EPIPE|^\s+at /m);
    expect(stderr.split('\n')[0]).toMatch(/^vm: mdev [0-9a-f-]{36} /); // the device line before the guest runs
    expect(stderr.split('\n')[1]).toBe('vm: stdout was closed (status 141)');
  }, 120_000);
});
