import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_STOPPED,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import { KVM_RISCV_SBI_EXT_DBCN, RiscvVcpuScheduler, riscvSbiExtReg, SBI_EXT_DBCN } from '../src/index.ts';
import { makeVm, RAM_GPA } from './support.ts';

const HART_GUESTS = join(import.meta.dirname, '../../riscv-hart');
export const START_MARKER = '--- tsvirt guest start ---\n';

export interface GuestRun {
  console: string;
  reason: bigint | undefined;
  exits: Record<string, number>;
}

/**
 * Run one of riscv-hart's bare-metal guests (guest/bin/<name>.bin, linked at
 * 0x8020_0000) on this KVM: 16 MiB of RAM at 0x8000_0000, hart 0 at the
 * image with a0 = 0, the others STOPPED for HSM; the VMM side prints the
 * console calls (legacy putchar, or DBCN when `dbcn`) and stops at SRST.
 */
export function runGuest(
  name: string,
  opts: { harts?: number; dbcn?: boolean; maxExits?: number } = {},
): GuestRun {
  const image = readFileSync(join(HART_GUESTS, 'guest/bin', `${name}.bin`));
  const t = makeVm(16 << 20);
  t.mm.copyToUser(t.ram + 0x20_0000, image);
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < (opts.harts ?? 1); i++) {
    const v = t.vcpu(i, RAM_GPA + 0x20_0000);
    if (opts.dbcn) v.setOneReg({ id: riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN), addr: 0n, value: 1n });
    if (i > 0) v.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
    vcpus.push(v);
  }
  const sched = new RiscvVcpuScheduler(t.vm);
  let out = '';
  const exits: Record<string, number> = {};
  for (let n = 0; n < (opts.maxExits ?? 1_000_000); n++) {
    const v = sched.run();
    if (v === undefined) return { console: out, reason: undefined, exits };
    const r = v.run;
    exits[r.exit_reason] = (exits[r.exit_reason] ?? 0) + 1;
    if (r.exit_reason === KVM_EXIT_SYSTEM_EVENT)
      return { console: out, reason: r.system_event.data[0], exits };
    if (r.exit_reason === KVM_EXIT_RISCV_SBI) {
      const sbi = r.riscv_sbi;
      if (sbi.extension_id === 1n) {
        out += String.fromCharCode(Number(sbi.args[0]! & 0xffn));
        sbi.ret[0] = 0n;
      } else if (sbi.extension_id === BigInt(SBI_EXT_DBCN)) {
        if (sbi.function_id === 0n) {
          const len = Number(sbi.args[0]!);
          const buf = new Uint8Array(len);
          t.vm.readGuest(Number(sbi.args[1]!), buf);
          out += new TextDecoder().decode(buf);
          sbi.ret[0] = 0n;
          sbi.ret[1] = BigInt(len);
        } else if (sbi.function_id === 2n) {
          out += String.fromCharCode(Number(sbi.args[0]! & 0xffn));
          sbi.ret[0] = 0n;
        } else {
          sbi.ret[0] = -2n;
        }
      } else {
        sbi.ret[0] = -2n;
      }
    } else if (r.exit_reason === KVM_EXIT_MMIO) {
      r.mmio.data.fill(0xff); // nothing is there
    }
  }
  return { console: out, reason: undefined, exits };
}

export function expected(name: string): string {
  return readFileSync(join(HART_GUESTS, 'test/support/expected', `${name}.txt`), 'utf8');
}

export function afterMarker(raw: string): string | undefined {
  const text = raw.replace(/\r\n/g, '\n');
  const at = text.indexOf(START_MARKER);
  return at < 0 ? undefined : text.slice(at + START_MARKER.length);
}
