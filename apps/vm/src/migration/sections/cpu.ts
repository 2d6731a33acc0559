import { fail } from '@tsvirt/core-bus';
import type { KvmVcpu } from '@tsvirt/kvm-core';
import {
  KVM_RISCV_SBI_EXT_MAX,
  KVM_RISCV_TIMER_FREQUENCY,
  KVM_RISCV_TIMER_TIME,
  KVM_SBI_IMP_VERSION,
  KVM_SBI_IMPID,
  KVM_SBI_VERSION_MAJOR,
  KVM_SBI_VERSION_MINOR,
  RISCV_VCPU_SNAPSHOT_MAGIC,
  restoreRiscvVcpu,
  riscvRegList,
  riscvSbiExtReg,
  riscvTimerReg,
  SBI_SPEC_VERSION_MAJOR_SHIFT,
  saveRiscvVcpu,
} from '@tsvirt/kvm-riscv';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';

/** The SBI implementation the guest saw: spec version, implementation id and version (sbi_ext_base). */
function firmwareIdentity(): [number, number, number] {
  return [
    ((KVM_SBI_VERSION_MAJOR << SBI_SPEC_VERSION_MAJOR_SHIFT) | KVM_SBI_VERSION_MINOR) >>> 0,
    KVM_SBI_IMPID,
    KVM_SBI_IMP_VERSION,
  ];
}

/** Where the SBI extension status array sits in a KRVC blob: after magic, version and the flags byte. */
const KRVC_SBI_EXT_OFFSET = 9;

function getReg(v: KvmVcpu, id: bigint): bigint {
  const reg = { id, addr: 0n, value: 0n as bigint | Uint8Array };
  v.getOneReg(reg);
  return reg.value as bigint;
}

/**
 * The firmware-interface check a destination makes before it accepts vCPU
 * state (what a VMM must do with KVM RISC-V's KVM_REG_RISCV_SBI_EXT
 * registers, which freeze once a vCPU has run): the guest has already
 * probed SBI, so the same SBI implementation and version must answer here,
 * and every extension enabled in the saved vCPU must be one this KVM
 * offers (listed by KVM_GET_REG_LIST). Otherwise the guest would call an
 * extension that is gone.
 */
function checkFirmware(v: KvmVcpu, identity: number[], blob: Uint8Array): void {
  const here = firmwareIdentity();
  if (identity.some((x, i) => x !== here[i]))
    throw new MigrationError(
      `vCPU ${v.vcpuId}: SBI implementation ${identity[1]} version 0x${identity[2]!.toString(16)} (spec 0x${identity[0]!.toString(16)}) does not match this KVM's ${here[1]} version 0x${here[2].toString(16)} (spec 0x${here[0].toString(16)})`,
    );
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (
    blob.length < KRVC_SBI_EXT_OFFSET + KVM_RISCV_SBI_EXT_MAX ||
    dv.getUint32(0, true) !== RISCV_VCPU_SNAPSHOT_MAGIC
  )
    fail('EINVAL', `vCPU ${v.vcpuId}: not a KRVC vCPU blob`);
  const offered = new Set(riscvRegList(v));
  for (let idx = 0; idx < KVM_RISCV_SBI_EXT_MAX; idx++) {
    const enabled = blob[KRVC_SBI_EXT_OFFSET + idx] === 2; // KVM_RISCV_SBI_EXT_STATUS_ENABLED
    if (enabled && !offered.has(riscvSbiExtReg(idx)))
      throw new MigrationError(
        `vCPU ${v.vcpuId}: SBI extension ${idx} is enabled in the stream but not offered here`,
      );
  }
}

/**
 * One vCPU per instance (QEMU's "cpu" sections): the firmware identity the
 * guest saw, then kvm-riscv's KRVC blob (registers, CSRs, the hart, a
 * pending MMIO/SBI completion, HSM state).
 */
export const cpuSection: SectionHandler = {
  id: 'cpu',
  version: 1,
  instances: (m) => m.vcpus.map((v) => v.vcpuId),
  save(m, w) {
    for (const v of m.vcpus) {
      const out = new ByteWriter();
      for (const x of firmwareIdentity()) out.u32(x);
      w.section('cpu', v.vcpuId, 1, out.blob(saveRiscvVcpu(v)).finish());
    }
  },
  load(m, s) {
    const v = m.vcpus.find((c) => c.vcpuId === s.instance);
    if (v === undefined)
      throw new MigrationError(`stream has vCPU ${s.instance}, this VM has ${m.vcpus.length}`);
    const r = new ByteReader(s.payload, `section 'cpu' instance ${s.instance}`);
    const identity = [r.u32(), r.u32(), r.u32()];
    const blob = r.blob();
    r.end();
    checkFirmware(v, identity, blob);
    restoreRiscvVcpu(v, blob);
  },
};

/**
 * The VM's guest clock (KVM_REG_RISCV_TIMER: one time offset for the whole
 * VM, kvm->arch.timer.time_delta) and its frequency, which must match: a
 * guest calibrated to one timebase cannot move to another. Loaded after the
 * vCPUs, as QEMU's kvm_riscv_put_regs_timer() writes time last.
 */
export const timerSection: SectionHandler = {
  id: 'timer',
  version: 1,
  instances: () => [0],
  save(m, w) {
    const v = m.vcpus[0]!;
    w.section(
      'timer',
      0,
      1,
      new ByteWriter()
        .u64(getReg(v, riscvTimerReg(KVM_RISCV_TIMER_FREQUENCY)))
        .u64(getReg(v, riscvTimerReg(KVM_RISCV_TIMER_TIME)))
        .finish(),
    );
  },
  load(m, s) {
    const r = new ByteReader(s.payload, "section 'timer'");
    const freq = r.u64();
    const time = r.u64();
    r.end();
    const v = m.vcpus[0]!;
    const here = getReg(v, riscvTimerReg(KVM_RISCV_TIMER_FREQUENCY));
    if (freq !== here)
      throw new MigrationError(`timebase frequency ${freq} Hz does not match this KVM's ${here} Hz`);
    v.setOneReg({ id: riscvTimerReg(KVM_RISCV_TIMER_TIME), addr: 0n, value: time });
  },
};
