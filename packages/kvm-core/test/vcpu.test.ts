import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_CREATE_VCPU,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_CSR,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_GET_ONE_REG,
  KVM_GET_REG_LIST,
  KVM_INTERRUPT,
  KVM_REG_RISCV,
  KVM_REG_SIZE_U64,
  KVM_RUN,
  KVM_SET_ONE_REG,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  type KvmOneReg,
  type KvmRegList,
  type KvmVcpu,
} from '../src/index.ts';
import { fakeState, REG_A, REG_B, REG_WIDE } from './fake-arch.ts';
import { setup } from './helpers.ts';

describe('KVM_CREATE_VCPU', () => {
  it('returns an fd to a vCPU; ids below max_vcpu_ids, count up to max_vcpus', () => {
    const { vm, arch, files } = setup();
    const fd = vm.ioctl(KVM_CREATE_VCPU, 7) as number;
    const v = files.get(fd) as KvmVcpu;
    expect([v.vcpuId, v.vcpuIdx]).toEqual([7, 0]);
    expect(errnoOf(() => vm.createVcpu(8))).toBe('EINVAL'); // maxVcpuIds = 8
    expect(errnoOf(() => vm.createVcpu(-1))).toBe('EINVAL');
    vm.createVcpu(0);
    vm.createVcpu(1);
    vm.createVcpu(2);
    expect(errnoOf(() => vm.createVcpu(3))).toBe('EINVAL'); // maxVcpus = 4
    expect(vm.vcpus.map((x) => x.vcpuId)).toEqual([7, 0, 1, 2]);
    expect(arch.log.filter((l) => l.startsWith('vcpuCreate'))).toHaveLength(4);
  });

  it('a duplicate id is EEXIST after the arch created it, and the arch destroys it again', () => {
    const { vm, arch, files } = setup();
    vm.createVcpu(1);
    const open = files.openCount;
    expect(errnoOf(() => vm.createVcpu(1))).toBe('EEXIST');
    expect(arch.log.slice(-2)).toEqual(['vcpuCreate:1', 'vcpuDestroy:1']);
    expect(vm.vcpus).toHaveLength(1);
    expect(files.openCount).toBe(open);
    // The failed attempt does not use up a vCPU.
    vm.createVcpu(2);
    vm.createVcpu(3);
    vm.createVcpu(4);
    expect(vm.vcpus).toHaveLength(4);
  });

  it('an arch refusal creates nothing', () => {
    const { vm, arch } = setup();
    arch.failVcpuCreate = true;
    expect(errnoOf(() => vm.createVcpu(0))).toBe('ENOMEM');
    expect(vm.vcpus).toHaveLength(0);
    arch.failVcpuCreate = false;
    expect(vm.createVcpu(0).vcpuIdx).toBe(0);
  });
});

describe('KVM_RUN', () => {
  it('MMIO store: exit with address, data, len, is_write', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    fakeState(v).program.push({ op: 'store', gpa: 0x1000_0004, data: [0xaa, 0xbb, 0xcc, 0xdd] });
    v.ioctl(KVM_RUN);
    const r = v.run;
    expect(r.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(r.mmio.phys_addr).toBe(0x1000_0004n);
    expect(r.mmio.len).toBe(4);
    expect(r.mmio.is_write).toBe(1);
    expect([...r.mmio.data]).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0]);
  });

  it('MMIO load: the arch finishes it with the data user space filled in, on the next run', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    fakeState(v).program.push(
      { op: 'load', gpa: 0x2000, len: 2, reg: 'a0' },
      { op: 'system-event', type: KVM_SYSTEM_EVENT_SHUTDOWN, data: [7n] },
    );
    v.kvmRun();
    expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.is_write).toBe(0);
    expect(v.run.mmio.len).toBe(2);
    v.run.mmio.data.set([0x34, 0x12]);
    v.kvmRun();
    expect(fakeState(v).regs.get('a0')).toBe(0x1234n);
    expect(v.run.exit_reason).toBe(KVM_EXIT_SYSTEM_EVENT);
    expect(v.run.system_event.type).toBe(KVM_SYSTEM_EVENT_SHUTDOWN);
    expect(v.run.system_event.ndata).toBe(1);
    expect(v.run.system_event.data[0]).toBe(7n);
  });

  it('RISCV_SBI exit carries ext/fn/args; ret comes back on the next run', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    fakeState(v).program.push({ op: 'sbi', ext: 0x1n, fn: 0n, args: [0x41n] });
    v.kvmRun();
    const s = v.run.riscv_sbi;
    expect(v.run.exit_reason).toBe(KVM_EXIT_RISCV_SBI);
    expect([s.extension_id, s.function_id, s.args[0], s.args[5]]).toEqual([1n, 0n, 0x41n, 0n]);
    s.ret[0] = 0n;
    s.ret[1] = 5n;
    v.kvmRun();
    expect(fakeState(v).sbiRet).toEqual([0n, 5n]);
    expect(v.run.exit_reason).toBe(KVM_EXIT_INTERNAL_ERROR);
    expect(v.run.internal.suberror).toBe(4);
    expect(v.run.internal.ndata).toBe(1);
  });

  it('immediate_exit: EINTR with KVM_EXIT_INTR, after completing the pending load; guest does not run', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    fakeState(v).program.push(
      { op: 'load', gpa: 0x2000, len: 1, reg: 'a1' },
      { op: 'store', gpa: 0, data: [1] },
    );
    v.kvmRun();
    v.run.mmio.data[0] = 9;
    v.run.immediate_exit = 1;
    expect(errnoOf(() => v.ioctl(KVM_RUN))).toBe('EINTR');
    expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
    expect(fakeState(v).regs.get('a1')).toBe(9n);
    expect(fakeState(v).pc).toBe(1);
    v.run.immediate_exit = 0;
    v.kvmRun();
    expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.is_write).toBe(1);
  });

  it('KVM_RUN with an argument is EINVAL; unknown vcpu ioctl ENOTTY', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    expect(errnoOf(() => v.ioctl(KVM_RUN, 1))).toBe('EINVAL');
    expect(errnoOf(() => v.ioctl(0xdead))).toBe('ENOTTY');
    expect(v.hasRun).toBe(false);
  });

  it('the exit helpers fill RISCV_CSR and clamp SYSTEM_EVENT data to 16 words', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    v.exitRiscvCsr(0x15n, 5n, 0xffn);
    expect(v.run.exit_reason).toBe(KVM_EXIT_RISCV_CSR);
    expect(v.run.riscv_csr).toEqual({ csr_num: 0x15n, new_value: 5n, write_mask: 0xffn, ret_value: 0n });
    v.exitSystemEvent(
      KVM_SYSTEM_EVENT_SHUTDOWN,
      Array.from({ length: 20 }, (_, i) => BigInt(i)),
    );
    expect(v.run.system_event.ndata).toBe(16);
    expect(v.run.system_event.data[15]).toBe(15n);
  });

  it('KVM_INTERRUPT reaches the arch', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    v.ioctl(KVM_INTERRUPT, { irq: 0xffff_ffff });
    expect(fakeState(v).interrupts).toEqual([0xffff_ffff]);
  });
});

describe('ONE_REG', () => {
  it('set then get round-trips a u64 and a u128 (bytes)', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    v.ioctl(KVM_SET_ONE_REG, { id: REG_A, addr: 0n, value: 0xdead_beef_0000_0001n });
    const r: KvmOneReg = { id: REG_A, addr: 0n };
    v.ioctl(KVM_GET_ONE_REG, r);
    expect(r.value).toBe(0xdead_beef_0000_0001n);
    const wide = Uint8Array.from({ length: 16 }, (_, i) => i);
    v.setOneReg({ id: REG_WIDE, addr: 0n, value: wide });
    const w: KvmOneReg = { id: REG_WIDE, addr: 0n };
    v.getOneReg(w);
    expect([...(w.value as Uint8Array)]).toEqual([...wide]);
    // bytes for a u64 register are accepted little-endian
    v.setOneReg({ id: REG_A, addr: 0n, value: Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 0) });
    v.getOneReg(r);
    expect(r.value).toBe(0x201n);
  });

  it('errors: unknown id from the arch; wrong-size or missing value is EFAULT; EBUSY after run', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    const unknown = KVM_REG_RISCV | KVM_REG_SIZE_U64 | 0x99n;
    expect(errnoOf(() => v.getOneReg({ id: unknown, addr: 0n }))).toBe('ENOENT');
    expect(errnoOf(() => v.setOneReg({ id: REG_A, addr: 0n, value: new Uint8Array(4) }))).toBe('EFAULT');
    expect(errnoOf(() => v.setOneReg({ id: REG_A, addr: 0n, value: 1n << 64n }))).toBe('EFAULT');
    expect(errnoOf(() => v.setOneReg({ id: REG_WIDE, addr: 0n, value: 1n }))).toBe('EFAULT');
    expect(errnoOf(() => v.setOneReg({ id: REG_A, addr: 0n }))).toBe('EFAULT');
    v.setOneReg({ id: REG_B, addr: 0n, value: 5n });
    fakeState(v).program.push({ op: 'store', gpa: 0, data: [0] });
    v.kvmRun();
    expect(errnoOf(() => v.setOneReg({ id: REG_B, addr: 0n, value: 6n }))).toBe('EBUSY');
    const r: KvmOneReg = { id: REG_B, addr: 0n };
    v.getOneReg(r);
    expect(r.value).toBe(5n);
  });

  it('KVM_GET_REG_LIST: E2BIG with n written back, then the list', () => {
    const { vm } = setup();
    const v = vm.createVcpu(0);
    const l: KvmRegList = { n: 1, reg: [] };
    expect(errnoOf(() => v.ioctl(KVM_GET_REG_LIST, l))).toBe('E2BIG');
    expect(l.n).toBe(3);
    expect(l.reg).toEqual([]);
    v.ioctl(KVM_GET_REG_LIST, l);
    expect(l.reg).toEqual([REG_A, REG_B, REG_WIDE]);
  });
});
