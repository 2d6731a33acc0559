// The generic KVM UAPI constants this package shares with kvm-core
// (include/uapi/linux/kvm.h). The values are those of
// packages/kvm-core/src/uapi.ts; they are repeated here until kvm-core's
// index exports that table (a relative import across projects cannot be
// rewritten by tsc), and a test checks the two agree.

export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_SYSTEM_EVENT = 24;

export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_WAKEUP = 4;
export const KVM_SYSTEM_EVENT_SUSPEND = 5;

export const KVM_REG_ARCH_MASK = 0xff00_0000_0000_0000n;
export const KVM_REG_ARM64 = 0x6000_0000_0000_0000n;
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
export const KVM_REG_SIZE_U32 = 0x0020_0000_0000_0000n;
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n;
