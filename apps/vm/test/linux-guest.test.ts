import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';
import { kernelProblems, LINUX_APPEND, linuxGuest } from './linux-guest.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const guest = linuxGuest();
const BOOT_TIMEOUT = 900_000;

/** The pixel at (x, y) of a 320-wide RGBA picture, as [r, g, b]. */
function pixel(rgba: Uint8Array, x: number, y: number): number[] {
  const o = (y * 320 + x) * 4;
  return [rgba[o]!, rgba[o + 1]!, rgba[o + 2]!];
}

/** The picture init draws (guest/linux/init.c draw()): a yellow disc, "LINUX" in white, a blue gradient. */
function expectPicture(rgba: Uint8Array) {
  expect(pixel(rgba, 160, 80)).toEqual([0xff, 0xd0, 0x00]); // the disc's centre
  expect(pixel(rgba, 160, 41)).toEqual([0xff, 0xd0, 0x00]); // inside its top edge
  expect(pixel(rgba, 160, 39)).toEqual([0, 0, 0x20 + Math.floor((39 * 0xc0) / 200)]); // just outside
  expect(pixel(rgba, 0, 0)).toEqual([0, 0, 0x20]);
  expect(pixel(rgba, 319, 199)).toEqual([0, 0, 0x20 + Math.floor((199 * 0xc0) / 200)]);
  expect(pixel(rgba, 110, 150)).toEqual([0xff, 0xff, 0xff]); // the L's top-left stroke
  expect(pixel(rgba, 112, 170)).toEqual([0xff, 0xff, 0xff]); // the L's stem, row 5
  expect(pixel(rgba, 125, 175)).toEqual([0xff, 0xff, 0xff]); // the L's foot, row 6
  expect(pixel(rgba, 118, 150)).toEqual([0, 0, 0x20 + Math.floor((150 * 0xc0) / 200)]); // beside the L's stem
}

/** What every boot of the Linux guest prints, for `cpus` harts. */
function expectInitOutput(out: string, cpus: number) {
  expect(out).toContain('Linux version 6.12');
  expect(out).toContain('tsvirt-init: started as pid 1');
  expect(out).toMatch(/tsvirt-init: Linux 6\.12\.\d+ riscv64/);
  expect(out).toContain(`tsvirt-init: cpus: ${cpus}`);
  expect(out).toContain(`tsvirt-init: cpus online: ${cpus === 1 ? '0' : `0-${cpus - 1}`}`);
  // The ISA from riscv,isa-extensions (no CONFIG_RISCV_ISA_FALLBACK).
  expect(out).toMatch(/tsvirt-init: isa: rv64imafdc_zicntr_zicsr_zifencei\S*_sstc/);
  expect(out).toMatch(/tsvirt-init: memory: \d+ kB total/);
  expect(out).toContain('tsvirt-init: pci devices: 1');
  expect(out).toContain('tsvirt-init: pci 0000:00:01.0 7e57:1 class 38000');
  expect(out).toContain('tsvirt-init: gpu BAR0 4096 bytes, BAR2 4096 KiB mapped');
  expect(out).toContain('tsvirt-init: display 320x200 XRGB8888 on');
  expect(out).toContain('tsvirt-init: drew the picture into VRAM');
  // /proc/interrupts: the UART's line (PLIC source 10) and the timer, one column per CPU.
  expect(out).toMatch(/tsvirt-init: interrupts: +\d+: .*SiFive PLIC +10 .*ttyS0/);
  expect(out).toMatch(/tsvirt-init: interrupts: +\d+: .*RISC-V INTC +5 .*riscv-timer/);
  expect(out).toMatch(
    new RegExp(`tsvirt-init: interrupts: +${Array.from({ length: cpus }, (_, i) => `CPU${i}`).join(' +')}`),
  );
  // Init reads the log with its levels (the console shows none): nothing at KERN_WARNING or worse.
  expect(out).toMatch(/tsvirt-init: kernel log: \d+ lines, 0 at warning level or worse/);
  expect(out).toContain('tsvirt-init: all done, powering off');
  expect(out).toContain('reboot: Power down');
  expect(kernelProblems(out)).toEqual([]);
}

describe.skipIf(guest === undefined)('the Linux guest (Debian linux-source-6.12, our init)', () => {
  const { image, initrd } = guest ?? { image: '', initrd: '' };
  const linux = (...more: string[]) => [
    '--kernel',
    image,
    '--initrd',
    initrd,
    '--append',
    LINUX_APPEND,
    ...more,
  ];

  it(
    'boots on 1 hart through scripts/vm.sh: init reports, draws, powers off with status 0',
    () => {
      const png = join(mkdtempSync(join(tmpdir(), 'vm-linux-')), 'screen.png');
      const r = spawnSync(
        'bash',
        [join(root, 'scripts', 'vm.sh'), ...linux('--cpus', '1', '--screenshot', png)],
        {
          encoding: 'utf8',
          input: '',
          timeout: BOOT_TIMEOUT,
        },
      );
      expectInitOutput(r.stdout, 1);
      expect(r.stderr).toMatch(/vm: guest shut down \(status 0\)/);
      expect(r.status).toBe(0);
      expect(existsSync(png)).toBe(true);
      const img = PNG.sync.read(readFileSync(png));
      expect([img.width, img.height]).toEqual([320, 200]);
      expectPicture(img.data);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots on 4 harts',
    async () => {
      const { result, output, machine } = await boot(linux('--cpus', '4'));
      expectInitOutput(output, 4);
      expect(output).toMatch(/smp: Brought up 1 node, 4 CPUs/);
      expect(result.status).toBe(0);
      expectPicture(machine.display()!.rgba);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots with every block compiled to WebAssembly on first sight (--jit-threshold 1), 2 harts',
    async () => {
      const { result, output, machine } = await boot(linux('--cpus', '2', '--jit-threshold', '1'));
      expectInitOutput(output, 2);
      expect(result.status).toBe(0);
      expectPicture(machine.display()!.rgba);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots with every block compiled to JavaScript on first sight (--jit-tier js --jit-threshold 1), 2 harts',
    async () => {
      const { result, output, machine } = await boot(
        linux('--cpus', '2', '--jit-tier', 'js', '--jit-threshold', '1'),
      );
      expectInitOutput(output, 2);
      expect(result.status).toBe(0);
      expectPicture(machine.display()!.rgba);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots with the interpreter alone (--no-jit), 2 harts',
    async () => {
      const { result, output, machine } = await boot(linux('--cpus', '2', '--no-jit'));
      expectInitOutput(output, 2);
      expect(result.status).toBe(0);
      expectPicture(machine.display()!.rgba);
    },
    BOOT_TIMEOUT,
  );

  it(
    'with tsvirt.shell, init reads commands from the console',
    async () => {
      const prompt = '# ';
      const { result, output } = await boot(
        ['--kernel', image, '--initrd', initrd, '--append', `${LINUX_APPEND} tsvirt.shell`, '--cpus', '1'],
        [
          { expect: 'tsvirt-init: shell', send: '' },
          { expect: prompt, send: 'echo hello   from the shell\n' },
          { expect: prompt, send: 'cat /proc/cmdline\n' },
          { expect: prompt, send: 'ls /sys/bus/pci/devices\n' },
          { expect: prompt, send: 'frobnicate\n' },
          { expect: prompt, send: 'poweroff\n' },
        ],
      );
      expect(output).toContain('hello from the shell');
      expect(output).toContain(`${LINUX_APPEND} tsvirt.shell`);
      expect(output).toMatch(/0000:00:01\.0/);
      expect(output).toContain('frobnicate: not found');
      expect(output).not.toContain('tsvirt-init: all done'); // the shell replaces the report
      expect(output).toContain('reboot: Power down');
      expect(kernelProblems(output)).toEqual([]);
      expect(result.status).toBe(0);
    },
    BOOT_TIMEOUT,
  );
});
