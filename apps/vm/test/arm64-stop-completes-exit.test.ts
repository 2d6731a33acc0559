import { KVM_REG_ARM_CORE_PC } from '@tsvirt/kvm-arm';
import { KVM_EXIT_INTR, KVM_EXIT_MMIO, type KvmOneReg } from '@tsvirt/kvm-core';
import { expect, it } from 'vitest';
import { FLASH_BASE } from '../src/arm64/layout.ts';
import { Arm64Machine } from '../src/arm64/machine.ts';
import { Arm64Runner } from '../src/arm64/runner.ts';

it("arm64: stopping for a migration completes the vCPU's last MMIO exit, so its saved PC is past the store", async () => {
  // movz x0, #0x0900, lsl #16 (the PL011); movz w1, #'A'; 1: strb w1, [x0]; b 1b
  const words = [0xd2a12000, 0x52800821, 0x39000001, 0x17ffffff];
  const bios = new Uint8Array(Uint32Array.from(words).buffer);
  let printed = 0;
  const m = Arm64Machine.create({ mem: 16 << 20, cpus: 1, bios, mdev: [], quantum: 20_000 }, () => {
    printed++;
  });
  const v = m.vcpus[0]!;
  const runner = new Arm64Runner(m);
  let pcAtExit = -1n;
  let printedAtExit = -1;
  const pc = (): bigint => {
    const reg: KvmOneReg = { id: KVM_REG_ARM_CORE_PC, addr: 0n };
    v.getOneReg(reg);
    return reg.value as bigint;
  };
  // Stop between rounds once the store has exited and been handled, but not completed.
  const res = await runner.run(() => {
    if (printed < 5 || v.run.exit_reason !== KVM_EXIT_MMIO) return false;
    pcAtExit = pc();
    printedAtExit = printed;
    return true;
  });
  expect(res.status).toBe(-1);
  expect(pcAtExit).toBe(BigInt(FLASH_BASE + 8)); // still at the strb when the exit was handled
  // Completed without running the guest on: at the b, nothing more printed.
  expect(pc()).toBe(BigInt(FLASH_BASE + 12));
  expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
  expect(printed).toBe(printedAtExit);
});
