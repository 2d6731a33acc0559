import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
export const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

export interface ProcessStep {
  expect: string;
  /** What to type; a function gets the output so far. */
  send: string | ((out: string) => string);
}

/**
 * Run `bash scripts/vm.sh ARGS` in `cwd` as a user would, typing each
 * step's `send` once its `expect` appears on stdout after the previous
 * step's. Resolves with the output and the exit status.
 */
export async function vmShScripted(
  cwd: string,
  args: string[],
  steps: ProcessStep[],
): Promise<{ out: string; err: string; status: number | null }> {
  const child = spawn('bash', [join(root, 'scripts', 'vm.sh'), ...args], { cwd });
  let out = '';
  let err = '';
  let consumed = 0;
  let step = 0;
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('latin1');
    while (step < steps.length) {
      const at = out.indexOf(steps[step]!.expect, consumed);
      if (at < 0) break;
      consumed = at + steps[step]!.expect.length;
      const send = steps[step]!.send;
      child.stdin.write(typeof send === 'string' ? send : send(out));
      step++;
    }
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const status = await new Promise<number | null>((done) => child.on('close', done));
  return { out, err, status };
}

/**
 * U-Boot steps: stop autoboot, `pci enum`, list, find BAR0 of `bdf`, then
 * write `value` at BAR0 + `writeAt` and dump two words of BAR0, power off.
 */
export function ubootBar0Steps(bdf: string, writeAt: number, value: string): ProcessStep[] {
  const prompt = '=> ';
  return [
    { expect: 'Hit any key to stop autoboot', send: ' ' },
    { expect: prompt, send: 'pci enum\r' },
    { expect: prompt, send: 'pci\r' },
    { expect: prompt, send: `pci bar ${bdf}\r` },
    {
      expect: prompt,
      send: (out) => {
        const bar = BigInt(`0x${/^ 0 +0x([0-9a-f]+)/m.exec(out)![1]!}`);
        return `mw.l ${(bar + BigInt(writeAt)).toString(16)} ${value}; md.l ${bar.toString(16)} 2\r`;
      },
    },
    { expect: prompt, send: 'poweroff\r' },
  ];
}
