import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Arm64Machine } from '../src/arm64/machine.ts';
import { Arm64Runner } from '../src/arm64/runner.ts';
import { PSCI_GUEST, psciMachine } from './arm64-psci-machine.ts';

const NOT_SUPPORTED = '0xffffffffffffffff';
const hex = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

/** Boot the PSCI guest on two vCPUs with the firmware register set before the first run. */
async function run(psciVersion: bigint, psci02: boolean) {
  let out = '';
  const m = psciMachine(psciVersion, psci02, (b) => {
    out += String.fromCharCode(b);
  });
  const r = new Arm64Runner(m);
  r.markInputEnded();
  const res = await r.run();
  return { out, res };
}

describe('the arm64 PSCI guest sees the version KVM_REG_ARM_PSCI_VERSION selects', () => {
  it('1.0: PSCI_FEATURES answers, CPU_ON starts cpu1 with its context id, SYSTEM_OFF powers off', async () => {
    const { out, res } = await run(0x1_0000n, true);
    expect(out).toContain(`PSCI_VERSION: ${hex(0x1_0000)}\n`);
    expect(out).toContain(`PSCI_FEATURES(CPU_ON): ${hex(0)}\n`);
    expect(out).toContain(
      `CPU_ON(1): ${hex(0)}\ncpu1 up, x0=${hex(0xc0ffee)}\ncpu1 MPIDR: ${hex(0x8000_0001)}\n`,
    );
    // OFF (1) once cpu1 has called CPU_OFF.
    expect(out).toContain(`AFFINITY_INFO(1): ${hex(1)}\nSYSTEM_OFF\n`);
    expect(out).not.toContain('SYSTEM_OFF returned');
    expect(res.status).toBe(0);
  }, 120_000);

  it('0.2: the same calls, but PSCI_FEATURES does not exist yet (NOT_SUPPORTED)', async () => {
    const { out, res } = await run(0x2n, true);
    expect(out).toContain(`PSCI_VERSION: ${hex(2)}\n`);
    expect(out).toContain(`PSCI_FEATURES(CPU_ON): ${NOT_SUPPORTED}\n`);
    expect(out).toContain(`cpu1 up, x0=${hex(0xc0ffee)}\n`);
    expect(res.status).toBe(0);
  }, 120_000);

  it('0.1 (a VM without the PSCI_0_2 feature): none of the 0.2 function ids exist, so SYSTEM_OFF returns', async () => {
    const { out, res } = await run(0x1n, false);
    expect(out).toContain(`PSCI_VERSION: ${NOT_SUPPORTED}\n`);
    expect(out).toContain(`CPU_ON(1): ${NOT_SUPPORTED}\n`);
    expect(out).not.toContain('cpu1 up');
    expect(out).toContain(`SYSTEM_OFF returned: ${NOT_SUPPORTED}\n`);
    expect(res).toMatchObject({ status: 3, reason: 'every vCPU is halted and nothing can wake them' });
  }, 120_000);

  it('the board refuses a version the vCPU features do not allow (0.1 with PSCI_0_2: EINVAL)', () => {
    expect(() =>
      Arm64Machine.create(
        {
          mem: 64 << 20,
          cpus: 1,
          bios: readFileSync(PSCI_GUEST),
          mdev: [],
          quantum: 20_000,
          psciVersion: 0x1n,
        },
        () => {},
      ),
    ).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('the arm64 timer guest: the virtual timer through KVM, the GIC and back', () => {
  it('WFI halts, the idle VM moves to the deadline, PPI 27 is taken three times at EL1, then SYSTEM_OFF', async () => {
    let out = '';
    const m = Arm64Machine.create(
      {
        mem: 16 << 20,
        cpus: 1,
        bios: readFileSync(join(import.meta.dirname, '..', 'guest', 'arm64-timer', 'timer.bin')),
        mdev: [],
        quantum: 20_000,
      },
      (b) => {
        out += String.fromCharCode(b);
      },
    );
    const r = new Arm64Runner(m);
    r.markInputEnded();
    const res = await r.run();
    expect(out).toBe('arm64-timer guest\nirq 27\nirq 27\nirq 27\nthree timer interrupts\n');
    expect(res.status).toBe(0);
  }, 120_000);
});
