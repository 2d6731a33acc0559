import { KVM_GET_REG_LIST, type KvmRegList, type KvmVcpu } from '@tsvirt/kvm-core';
import type { Arm64Machine } from './machine.ts';

/** One vCPU's migratable state as a VMM collects it: mp_state and every listed register's value. */
export interface Arm64VcpuState {
  /** KVM_GET_MP_STATE. */
  mpState: number;
  /** KVM_GET_REG_LIST ids with their KVM_GET_ONE_REG values. */
  regs: [bigint, bigint | Uint8Array][];
}

/** The whole VM: every vCPU and guest RAM. */
export interface Arm64VmState {
  /** Per vCPU, in index order. */
  vcpus: Arm64VcpuState[];
  /** Guest RAM. */
  ram: Uint8Array;
}

function saveVcpu(v: KvmVcpu): Arm64VcpuState {
  const list: KvmRegList = { n: 0, reg: [] };
  try {
    v.ioctl(KVM_GET_REG_LIST, list);
  } catch {
    // E2BIG with the count: ask again with room, as QEMU's kvm_arch_init_vcpu does.
  }
  v.ioctl(KVM_GET_REG_LIST, list);
  const mp = { mp_state: 0 };
  v.getMpState(mp);
  const regs: [bigint, bigint | Uint8Array][] = list.reg.map((id) => {
    const r: { id: bigint; addr: bigint; value?: bigint | Uint8Array } = { id, addr: 0n };
    v.getOneReg(r);
    return [id, r.value!];
  });
  return { mpState: mp.mp_state, regs };
}

/** Save a paused VM (QEMU's kvm_arch_get_registers for each vCPU, then RAM). */
export function saveArm64Vm(m: Arm64Machine): Arm64VmState {
  const ram = new Uint8Array(m.opts.mem);
  m.mm.copyFromUser(m.ramHva, ram);
  return { vcpus: m.vcpus.map(saveVcpu), ram };
}

/**
 * Load a saved VM into a freshly built one (never run): RAM, then each
 * vCPU's registers with KVM_SET_ONE_REG and its mp_state. A register the
 * destination kernel refuses (ENOENT for one it lacks, EINVAL for a value)
 * fails the migration with that KernelError; the source keeps running the
 * guest. Registers the destination has and the stream lacks keep their
 * values (its own machine type's choices).
 */
export function loadArm64Vm(m: Arm64Machine, s: Arm64VmState): void {
  if (s.vcpus.length !== m.vcpus.length || s.ram.length !== m.opts.mem)
    throw new RangeError('the saved VM has another shape (vCPUs or RAM size)');
  m.mm.copyToUser(m.ramHva, s.ram);
  for (const [i, st] of s.vcpus.entries()) {
    const v = m.vcpus[i]!;
    for (const [id, value] of st.regs) v.setOneReg({ id, addr: 0n, value });
    v.setMpState({ mp_state: st.mpState });
  }
}
