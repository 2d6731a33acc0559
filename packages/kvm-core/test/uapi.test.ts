import { expect, it } from 'vitest';
import * as U from '../src/index.ts';

it('ioctl request numbers are the kernel _IO/_IOW/_IOWR encodings', () => {
  const numbers: Record<string, number> = {
    KVM_GET_API_VERSION: U.KVM_GET_API_VERSION,
    KVM_CREATE_VM: U.KVM_CREATE_VM,
    KVM_CHECK_EXTENSION: U.KVM_CHECK_EXTENSION,
    KVM_CREATE_VCPU: U.KVM_CREATE_VCPU,
    KVM_GET_DIRTY_LOG: U.KVM_GET_DIRTY_LOG,
    KVM_SET_USER_MEMORY_REGION: U.KVM_SET_USER_MEMORY_REGION,
    KVM_IRQ_LINE: U.KVM_IRQ_LINE,
    KVM_IRQFD: U.KVM_IRQFD,
    KVM_IOEVENTFD: U.KVM_IOEVENTFD,
    KVM_ENABLE_CAP: U.KVM_ENABLE_CAP,
    KVM_CLEAR_DIRTY_LOG: U.KVM_CLEAR_DIRTY_LOG,
    KVM_CREATE_DEVICE: U.KVM_CREATE_DEVICE,
    KVM_RUN: U.KVM_RUN,
    KVM_INTERRUPT: U.KVM_INTERRUPT,
    KVM_GET_ONE_REG: U.KVM_GET_ONE_REG,
    KVM_SET_ONE_REG: U.KVM_SET_ONE_REG,
    KVM_GET_REG_LIST: U.KVM_GET_REG_LIST,
    KVM_SET_DEVICE_ATTR: U.KVM_SET_DEVICE_ATTR,
    KVM_GET_MP_STATE: U.KVM_GET_MP_STATE,
    KVM_SET_MP_STATE: U.KVM_SET_MP_STATE,
  };
  expect(Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, v.toString(16)]))).toEqual({
    KVM_GET_API_VERSION: 'ae00',
    KVM_CREATE_VM: 'ae01',
    KVM_CHECK_EXTENSION: 'ae03',
    KVM_CREATE_VCPU: 'ae41',
    KVM_GET_DIRTY_LOG: '4010ae42',
    KVM_SET_USER_MEMORY_REGION: '4020ae46',
    KVM_IRQ_LINE: '4008ae61',
    KVM_IRQFD: '4020ae76',
    KVM_IOEVENTFD: '4040ae79',
    KVM_ENABLE_CAP: '4068aea3',
    KVM_CLEAR_DIRTY_LOG: 'c018aec0',
    KVM_CREATE_DEVICE: 'c00caee0',
    KVM_RUN: 'ae80',
    KVM_INTERRUPT: '4004ae86',
    KVM_GET_ONE_REG: '4010aeab',
    KVM_SET_ONE_REG: '4010aeac',
    KVM_GET_REG_LIST: 'c008aeb0',
    KVM_SET_DEVICE_ATTR: '4018aee1',
    KVM_GET_MP_STATE: '8004ae98',
    KVM_SET_MP_STATE: '4004ae99',
  });
});

it('kvmRegSize decodes the size field', () => {
  expect(U.kvmRegSize(U.KVM_REG_RISCV | U.KVM_REG_SIZE_U64 | 5n)).toBe(8);
  expect(U.kvmRegSize(U.KVM_REG_ARM64 | U.KVM_REG_SIZE_U128)).toBe(16);
  expect(U.kvmRegSize(U.KVM_REG_SIZE_U32)).toBe(4);
});
