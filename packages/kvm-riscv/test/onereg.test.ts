import {
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_REG_ARM64,
  KVM_REG_RISCV,
  KVM_REG_SIZE_U32,
  KVM_REG_SIZE_U64,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import { ECALL, jal, li, lui, sd } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  KVM_REG_RISCV_CORE,
  KVM_REG_RISCV_CSR,
  KVM_RISCV_SBI_EXT_DBCN,
  KVM_RISCV_SBI_EXT_HSM,
  KVM_RISCV_SBI_EXT_MAX,
  KVM_RISCV_SBI_EXT_PMU,
  KVM_RISCV_TIMER_FREQUENCY,
  KVM_RISCV_TIMER_STATE,
  KVM_RISCV_TIMER_TIME,
  riscvCoreReg,
  riscvCsrReg,
  riscvFpDReg,
  riscvSbiExtReg,
  riscvSbiMultiReg,
  riscvTimerReg,
  SBI_EXT_BASE,
  SBI_EXT_DBCN,
} from '../src/index.ts';
import { hartOf, MMIO, makeVm, RAM_GPA, runToExit, x } from './support.ts';

const get = (v: KvmVcpu, id: bigint) => {
  const r = { id, addr: 0n, value: undefined as bigint | Uint8Array | undefined };
  v.getOneReg(r);
  return r.value;
};
const set = (v: KvmVcpu, id: bigint, value: bigint | Uint8Array) => v.setOneReg({ id, addr: 0n, value });
const code = (e: string) => expect.objectContaining({ code: e });

describe('ONE_REG', () => {
  it('core registers: pc, x1..x31 and mode', () => {
    const t = makeVm();
    const v = t.vcpu();
    set(v, riscvCoreReg(0), 0x8000_1000n);
    set(v, riscvCoreReg(10), 0xffff_ffff_ffff_fff0n);
    expect(hartOf(v).pc).toBe(0x8000_1000n);
    expect(x(v, 10)).toBe(-16n);
    expect(get(v, riscvCoreReg(10))).toBe(0xffff_ffff_ffff_fff0n);
    expect(get(v, riscvCoreReg(32))).toBe(1n); // KVM_RISCV_MODE_S
    expect(() => set(v, riscvCoreReg(32), 3n)).toThrow(code('EINVAL'));
    expect(get(v, riscvCoreReg(32))).toBe(1n);
    expect(() => get(v, riscvCoreReg(33))).toThrow(code('ENOENT'));
    expect(() => get(v, KVM_REG_RISCV | KVM_REG_SIZE_U32 | KVM_REG_RISCV_CORE | 1n)).toThrow(code('EINVAL'));
    expect(() => get(v, KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_RISCV_CORE)).toThrow(code('ENOENT'));
    expect(() => get(v, KVM_REG_RISCV | KVM_REG_SIZE_U64 | (0x7fn << 24n))).toThrow(code('ENOENT'));
  });

  it('CSRs are the guest S-mode view (the hart VS registers); AIA CSRs do not exist', () => {
    const t = makeVm();
    const v = t.vcpu();
    set(v, riscvCsrReg(2), 0x8000_0100n); // stvec
    expect(hartOf(v).vstvec).toBe(0x8000_0100n);
    set(v, riscvCsrReg(8), (8n << 60n) | 0x80123n); // satp
    expect(get(v, riscvCsrReg(8))).toBe((8n << 60n) | 0x80123n);
    expect(() => get(v, riscvCsrReg(11))).toThrow(code('ENOENT'));
    expect(() => get(v, KVM_REG_RISCV | KVM_REG_SIZE_U64 | KVM_REG_RISCV_CSR | (1n << 16n))).toThrow(
      code('ENOENT'),
    );
  });

  it('timer: frequency is fixed, time moves the guest clock, state takes ON/OFF only', () => {
    const t = makeVm();
    const v = t.vcpu();
    expect(get(v, riscvTimerReg(KVM_RISCV_TIMER_FREQUENCY))).toBe(10_000_000n);
    expect(() => set(v, riscvTimerReg(KVM_RISCV_TIMER_FREQUENCY), 1n)).toThrow(code('EINVAL'));
    set(v, riscvTimerReg(KVM_RISCV_TIMER_TIME), 5_000_000n);
    expect(get(v, riscvTimerReg(KVM_RISCV_TIMER_TIME))).toBe(5_000_000n);
    expect(() => set(v, riscvTimerReg(KVM_RISCV_TIMER_STATE), 2n)).toThrow(code('EINVAL'));
    expect(get(v, riscvTimerReg(KVM_RISCV_TIMER_STATE))).toBe(0n);
    expect(() => get(v, riscvTimerReg(4))).toThrow(code('ENOENT'));
  });

  it('FP (D): f registers are u64, fcsr is u32', () => {
    const t = makeVm();
    const v = t.vcpu();
    set(v, riscvFpDReg(3), 0x4009_21fb_5444_2d18n);
    expect(hartOf(v).getF(3)).toBe(0x4009_21fb_5444_2d18n);
    set(v, riscvFpDReg(32), 0x20n);
    expect(get(v, riscvFpDReg(32))).toBe(0x20n);
    expect(() => get(v, KVM_REG_RISCV | KVM_REG_SIZE_U64 | (0x06n << 24n) | 32n)).toThrow(code('EINVAL'));
    expect(() => get(v, riscvFpDReg(33))).toThrow(code('ENOENT'));
  });

  it('KVM_GET_REG_LIST: E2BIG with the count when short, then every id, all readable', () => {
    const t = makeVm();
    const v = t.vcpu();
    const list = { n: 1, reg: [] as bigint[] };
    expect(() => v.getRegList(list)).toThrow(code('E2BIG'));
    const n = list.n;
    expect(n).toBeGreaterThan(80);
    v.getRegList(list);
    expect(list.reg).toHaveLength(n);
    for (const id of list.reg) expect(() => get(v, id)).not.toThrow();
    expect(list.reg).toContain(riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN));
    expect(list.reg).not.toContain(riscvSbiExtReg(KVM_RISCV_SBI_EXT_PMU));
  });
});

describe('KVM_REG_RISCV_SBI_EXT', () => {
  /** probe(DBCN), report a1, then DBCN write_byte('Z'). */
  const program = [
    ...li(17, BigInt(SBI_EXT_BASE)),
    ...li(16, 3n),
    ...li(10, BigInt(SBI_EXT_DBCN)),
    ECALL,
    lui(7, MMIO >>> 12),
    sd(11, 7, 0),
    ...li(17, BigInt(SBI_EXT_DBCN)),
    ...li(16, 2n),
    ...li(10, 0x5an),
    ECALL,
    jal(0, 0),
  ];

  it('enabling DBCN before the first run makes it probe 1 and forward to user space', () => {
    const t = makeVm();
    t.load(RAM_GPA, program);
    const v = t.vcpu();
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN))).toBe(0n);
    set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN), 1n);
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.data[0]).toBe(1);
    expect(runToExit(v)).toBe(KVM_EXIT_RISCV_SBI);
    expect(v.run.riscv_sbi).toMatchObject({ extension_id: BigInt(SBI_EXT_DBCN), function_id: 2n });
    expect(v.run.riscv_sbi.args[0]).toBe(0x5an);
  });

  it('EBUSY after the first run, with the setting unchanged', () => {
    const t = makeVm();
    t.load(RAM_GPA, program);
    const v = t.vcpu();
    runToExit(v);
    expect(() => set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN), 1n)).toThrow(code('EBUSY'));
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN))).toBe(0n);
  });

  it('ENOENT for an unknown or unimplemented extension, EINVAL for a value other than 0/1', () => {
    const t = makeVm();
    const v = t.vcpu();
    expect(() => set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_MAX), 1n)).toThrow(code('ENOENT'));
    expect(() => get(v, riscvSbiExtReg(40))).toThrow(code('ENOENT'));
    expect(() => set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_PMU), 1n)).toThrow(code('ENOENT'));
    expect(() => set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_HSM), 2n)).toThrow(code('EINVAL'));
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_HSM))).toBe(1n);
  });

  it('MULTI_EN is all or nothing; MULTI_DIS reads the complement', () => {
    const t = makeVm();
    const v = t.vcpu();
    const bits = (1n << BigInt(KVM_RISCV_SBI_EXT_DBCN)) | (1n << BigInt(KVM_RISCV_SBI_EXT_PMU));
    expect(() => set(v, riscvSbiMultiReg(true, 0), bits)).toThrow(code('ENOENT'));
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN))).toBe(0n);
    set(v, riscvSbiMultiReg(true, 0), 1n << BigInt(KVM_RISCV_SBI_EXT_DBCN));
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_DBCN))).toBe(1n);
    const en = get(v, riscvSbiMultiReg(true, 0)) as bigint;
    expect(get(v, riscvSbiMultiReg(false, 0))).toBe(~en & ((1n << 64n) - 1n));
    expect(() => get(v, riscvSbiMultiReg(true, 1))).toThrow(code('ENOENT'));
    set(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_HSM), 0n);
    expect(get(v, riscvSbiExtReg(KVM_RISCV_SBI_EXT_HSM))).toBe(0n);
  });

  it('an unknown vCPU ioctl is ENOTTY; a VM type other than 0 is EINVAL', () => {
    const t = makeVm();
    const v = t.vcpu();
    expect(() => v.ioctl(0x1234)).toThrow(code('ENOTTY'));
    expect(() => t.kvm.createVm(1)).toThrow(code('EINVAL'));
  });
});
