import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_SHUTDOWN, EXIT_USER_QUIT, EXIT_VM_ERROR } from '../src/config-error.ts';
import { hostileGuest, runGuest } from './hostile-guest-run.ts';

// Issue 13, "Hostile guests": guest programs (apps/vm/guest/hostile, C with
// their committed binaries) that abuse the board, run by the real VMM. Each
// must end with the status the README's exit table documents, never an
// internal error, and the console (Ctrl-A x) must keep answering within
// 100 ms while it runs: the one timing bound the issue asks for.

/** The bound issue 13 sets for the console's answer, whatever the guest does. */
const CONSOLE_BOUND_MS = 100;

interface Hostile {
  name: string;
  what: string;
  argv?: string[];
  /** Lines the guest prints on success (it shuts down with failure on any mismatch). */
  success: string[];
}

const GUESTS: Hostile[] = [
  {
    name: 'bars',
    what: 'BARs moved over the UART, PLIC, ECAM, both flash banks, RAM, this code and the DTB, and back; then a UART line, a GPU interrupt through the PLIC and an ECAM walk',
    success: [
      'bars over uart and back: devices ok',
      'bars over flash1 and back: devices ok',
      'bars over the dtb and back: devices ok',
      'plic: gpu fence interrupt taken',
      'ecam: gpu found again',
      'hostile bars: all devices ok',
    ],
  },
  {
    name: 'cfgspace',
    what: 'seeded random config-space writes of every width to every function (two GPUs), absent ones and other buses',
    argv: ['--mdev', 'sample_gpu-small', '--mdev', 'sample_gpu-small'],
    success: ['functions found: 2', 'config writes: 15360', 'hostile cfgspace: gpu answers, devices ok'],
  },
  {
    name: 'dma',
    what: 'DMA rings with bad IOVAs, huge lengths, overlapping copies, ring bases in MMIO; the GPU reports each error',
    success: [
      'dma copy into the uart: error 2 at 0',
      'dma copy wrapping at 2^64: error 2 at 0',
      'dma fill wrapping at 2^32: error 3 at 0',
      'dma copy over the ring ahead of the engine: error 0 at 0',
      'dma ring in its own vram bar: error 5 at 0',
      'dma ring running off the end of RAM: error 5 at 1',
      'hostile dma: 36 cases, the gpu refused each bad one and still works',
    ],
  },
  {
    name: 'plic',
    what: 'reads and writes of every width everywhere in the PLIC window; then the UART interrupt',
    success: ['plic: 74982 accesses done', 'plic: uart interrupt taken twice, source 10', 'hostile plic: ok'],
  },
  {
    name: 'sbi',
    what: 'SBI calls with garbage arguments to every extension, unknown EIDs and FIDs, legacy calls, from two harts',
    success: [
      'sbi: legacy calls with bad pointers trapped',
      'sbi: legacy putchar of garbage: !',
      'sbi: hart 1 done',
      'hostile sbi: 91 calls answered as the spec says',
    ],
  },
  {
    name: 'selfmod',
    what: 'code patched in its own basic block and from outside, run after fence.i',
    success: ['selfmod: same-block patches ran', 'selfmod: outside patches ran', 'hostile selfmod: ok'],
  },
];

describe('hostile guests (issue 13)', () => {
  for (const g of GUESTS) {
    it(`${g.name}: ${g.what}; status 0, the console answering within 100 ms throughout`, async () => {
      const r = await runGuest(g.name, { argv: g.argv ?? [] });
      expect(r.reason).not.toMatch(/internal error/);
      expect(r.status, `${r.reason}\n${r.output}`).toBe(EXIT_SHUTDOWN);
      expect(r.reason).toBe('guest shut down');
      for (const line of g.success) expect(r.output).toContain(`${line}\n`);
      expect(r.output).not.toContain('FAIL');
      expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
    }, 60_000);

    it(`${g.name}: Ctrl-A x part-way is answered within 100 ms (status 130)`, async () => {
      const r = await runGuest(g.name, {
        argv: g.argv ?? [],
        quitOn: `hostile ${g.name}: start\n`,
      });
      expect(r.status, `${r.reason}\n${r.output}`).toBe(EXIT_USER_QUIT);
      expect(r.quitLatency).toBeLessThan(CONSOLE_BOUND_MS);
      expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
    }, 60_000);
  }

  it('selfmod with --jit-threshold 1 (every block compiled on first reach) still runs the patched code; the console answers within 100 ms', async () => {
    // Each fence.i drops every compiled block and this threshold recompiles at
    // once; compile work counts against the quantum (JIT_COMPILE_CHARGE), so
    // a KVM_RUN stays short.
    const r = await runGuest('selfmod', { argv: ['--jit-threshold', '1'] });
    expect(r.status, `${r.reason}\n${r.output}`).toBe(EXIT_SHUTDOWN);
    expect(r.output).toContain('hostile selfmod: ok');
    expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
  }, 60_000);

  for (const jit of [[], ['--jit-threshold', '1'], ['--no-jit']]) {
    it(`spin ${jit.join(' ') || '(default jit)'}: a tight loop with interrupts off; Ctrl-A x answered within 100 ms`, async () => {
      const r = await runGuest('spin', {
        argv: jit,
        quitWhen: (out, turns) => out.includes('spinning') && turns > 5,
      });
      expect(r.output).toContain('hostile spin: spinning with interrupts off');
      expect(r.status, r.reason).toBe(EXIT_USER_QUIT);
      expect(r.reason).toBe('quit from the console');
      expect(r.stats!.instructions).toBeGreaterThan(100_000);
      expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
      expect(r.quitLatency).toBeLessThan(CONSOLE_BOUND_MS);
    }, 60_000);
  }

  for (const jit of [[], ['--jit-threshold', '1']]) {
    it(`trapstorm ${jit.join(' ') || '(default jit)'}: stvec on an illegal instruction, trapping forever; Ctrl-A x answered within 100 ms`, async () => {
      const r = await runGuest('trapstorm', {
        argv: jit,
        quitWhen: (out, turns) => out.includes('trapping forever') && turns > 5,
      });
      expect(r.output).toContain('hostile trapstorm: trapping forever');
      expect(r.status, r.reason).toBe(EXIT_USER_QUIT);
      expect(r.reason).toBe('quit from the console');
      expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
      expect(r.quitLatency).toBeLessThan(CONSOLE_BOUND_MS);
    }, 60_000);
  }

  it('wfi with every interrupt masked, console input ended: status 3, "every vCPU is halted"', async () => {
    const r = await runGuest('wfi');
    expect(r.output).toContain('hostile wfi: waiting for nothing');
    expect(r.status, r.reason).toBe(EXIT_VM_ERROR);
    expect(r.reason).toBe('every vCPU is halted and nothing can wake them');
  });

  it('wfi with every interrupt masked, console open: the VMM waits and answers Ctrl-A x within 100 ms', async () => {
    const r = await runGuest('wfi', {
      inputOpen: true,
      quitWhen: (out, turns) => out.includes('waiting for nothing') && turns > 5,
    });
    expect(r.status, r.reason).toBe(EXIT_USER_QUIT);
    expect(r.maxGap).toBeLessThan(CONSOLE_BOUND_MS);
    expect(r.quitLatency).toBeLessThan(CONSOLE_BOUND_MS);
  });
});

/** Run the VMM process (as scripts/vm.sh does, without its set-up step) on a guest, stdin at EOF. */
function vmProcess(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const vm = join(import.meta.dirname, '..');
  const tsx = join(vm, '..', '..', 'node_modules', '.bin', 'tsx');
  return new Promise((resolve, reject) => {
    const p = spawn(tsx, ['src/main.ts', ...args], { cwd: vm, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const FAULTS = [
  ['illegal', 'an illegal instruction with stvec 0 (the trap vector is address 0, no memory there)'],
  ['jump', 'a jump to a guest address with no memory'],
  ['fp-mmio', 'a floating-point load from the UART'],
  ['amo-mmio', 'an atomic add on the PLIC'],
  ['misaligned', 'a misaligned 4-byte load from the PLIC'],
] as const;

describe('hostile guests that KVM cannot run on (issue 13): the VMM process', () => {
  // Spawned, not in-process: what counts is the line the user sees and the status. All at once, to save time.
  let runs: ReturnType<typeof vmProcess>[] = [];
  beforeAll(() => {
    runs = FAULTS.map(([name]) => vmProcess(['--kernel', hostileGuest(`fault-${name}`), '--no-summary']));
    for (const p of runs) p.catch(() => {}); // awaited in the tests below
  });
  for (const [i, [name, what]] of FAULTS.entries()) {
    it(`fault-${name}: ${what} is a VM error: status 3 and one line naming the vCPU and a guest address`, async () => {
      const r = await runs[i]!;
      expect(r.stdout).toContain(`hostile fault ${name}: here it comes`);
      expect(r.stdout).not.toContain('FAIL');
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.status, r.stderr).toBe(EXIT_VM_ERROR);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^vm: /);
      expect(lines[0]).toMatch(/vCPU 0\b/);
      expect(lines[0]).toMatch(/0x[0-9a-f]+/);
    }, 60_000);
  }
});
