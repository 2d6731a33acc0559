import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Arm64Machine } from '../src/arm64/machine.ts';

/** guest/arm64-psci: PSCI calls on two vCPUs, each result printed, then SYSTEM_OFF. */
export const PSCI_GUEST = join(import.meta.dirname, '..', 'guest', 'arm64-psci', 'psci.bin');

/** The PSCI guest's board: two vCPUs, the firmware register (PSCI version) set before the first run. */
export function psciMachine(psciVersion: bigint, psci02: boolean, onByte: (b: number) => void): Arm64Machine {
  return Arm64Machine.create(
    {
      mem: 64 << 20,
      cpus: 2,
      bios: readFileSync(PSCI_GUEST),
      mdev: [],
      quantum: 20_000,
      psci02,
      psciVersion,
    },
    onByte,
  );
}
