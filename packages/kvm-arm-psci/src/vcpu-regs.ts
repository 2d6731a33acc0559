// The abstract arm64 vCPU this package drives: the registers PSCI/SMCCC read
// and write (x0-x3, pc), the MPIDR that CPU_ON and AFFINITY_INFO match, and
// the hooks KVM uses on the CPU (reset, wait-for-interrupt, entering the
// guest). An arm64 CPU model plugs in by implementing ArmVcpuRegs / ArmGuestCpu.

/** What a guest did when it left guest mode (the ESR exception class, reduced). */
export type ArmGuestTrap =
  | {
      /** HVC instruction. */
      kind: 'hvc';
      /** The instruction's 16-bit immediate. */
      imm: number;
    }
  | {
      /** SMC instruction. */
      kind: 'smc';
      /** The instruction's 16-bit immediate. */
      imm: number;
    }
  | {
      /** WFI instruction. */
      kind: 'wfi';
    }
  /** The CPU stopped for a host reason (its budget ran out, a signal): KVM_RUN returns EINTR. */
  | {
      /** A host reason, not a guest trap. */
      kind: 'host';
    };

/** The arm64 vCPU state PSCI and the SMCCC use: MPIDR, x0..x30, PC, endianness, reset and WFI. */
export interface ArmVcpuRegs {
  /** MPIDR_EL1 as the guest reads it (Aff3..Aff0 and the RES1 bit 31). */
  readonly mpidr: bigint;
  /** General-purpose register xn (the SMCCC uses x0..x3, n is 0..30), u64. */
  getX(n: number): bigint;
  /** Write xn, truncated to 64 bits. */
  setX(n: number, value: bigint): void;
  /** The program counter. */
  getPc(): bigint;
  /** Set the program counter. */
  setPc(value: bigint): void;
  /** The guest's data endianness (SCTLR_EL1.EE, or CPSR.E for AArch32): CPU_ON passes it on. */
  readonly bigEndian?: boolean;
  /**
   * kvm_reset_vcpu(): every core register to its reset value (MPIDR is
   * kept), big-endian when a CPU_ON caller was.
   */
  reset(bigEndian?: boolean): void;
  /** Wait for an interrupt (kvm_vcpu_wfi); CPU_SUSPEND is emulated with it. */
  wfi?(): void;
}

/** An ArmVcpuRegs that can also run guest code, for KVM_RUN. */
export interface ArmGuestCpu extends ArmVcpuRegs {
  /** Run guest code until it traps. */
  enterGuest(): ArmGuestTrap;
}

const MASK64 = (1n << 64n) - 1n;

/**
 * The reset MPIDR KVM gives vCPU `vcpuId` (reset_mpidr): Aff0 = id[3:0],
 * Aff1 = id[11:4], Aff2 = id[19:12], with bit 31 set.
 */
export function mpidrForVcpuId(vcpuId: number): bigint {
  const aff0 = vcpuId & 0x0f;
  const aff1 = (vcpuId >> 4) & 0xff;
  const aff2 = (vcpuId >> 12) & 0xff;
  return (1n << 31n) | (BigInt(aff2) << 16n) | (BigInt(aff1) << 8n) | BigInt(aff0);
}

/** A plain register file: 31 x registers and pc, no instruction execution. */
export class ArmRegisterFile implements ArmVcpuRegs {
  /** x0..x30. */
  readonly x = new BigUint64Array(31);
  /** Program counter. */
  pc = 0n;
  bigEndian = false;
  /** Times wfi() was called. */
  wfiCount = 0;
  /** Times reset() was called. */
  resetCount = 0;

  constructor(readonly mpidr: bigint) {}

  getX(n: number): bigint {
    return this.x[n]!;
  }
  /** Write xn, truncated to 64 bits. */
  setX(n: number, value: bigint): void {
    this.x[n] = value & MASK64;
  }
  /** The program counter. */
  getPc(): bigint {
    return this.pc;
  }
  /** Set the program counter, truncated to 64 bits. */
  setPc(value: bigint): void {
    this.pc = value & MASK64;
  }
  reset(bigEndian = false): void {
    this.x.fill(0n);
    this.pc = 0n;
    this.bigEndian = bigEndian;
    this.resetCount++;
  }
  wfi(): void {
    this.wfiCount++;
  }
}

/**
 * A register file that "runs" a script: each step may load registers and
 * then traps (HVC, SMC, WFI). When the script is exhausted it stops with a
 * host trap. Stands in for an arm64 CPU in tests and examples.
 */
export class ScriptedArmCpu extends ArmRegisterFile implements ArmGuestCpu {
  private readonly steps: ((cpu: ScriptedArmCpu) => ArmGuestTrap)[] = [];

  /** Queue a step: `set` runs in "guest mode" and returns the trap that ends it. */
  push(step: (cpu: ScriptedArmCpu) => ArmGuestTrap): this {
    this.steps.push(step);
    return this;
  }

  /** Queue an SMCCC call: x0 = function id, x1..x3 = args, then HVC #0 (or SMC #0). */
  call(fnId: number | bigint, args: readonly bigint[] = [], conduit: 'hvc' | 'smc' = 'hvc'): this {
    return this.push((cpu) => {
      cpu.setX(0, BigInt(fnId));
      for (let i = 0; i < 3; i++) cpu.setX(i + 1, args[i] ?? 0n);
      return { kind: conduit, imm: 0 };
    });
  }

  /** Steps not yet run. */
  get pending(): number {
    return this.steps.length;
  }

  /** Run the next queued step; a host trap when none is left. */
  enterGuest(): ArmGuestTrap {
    const step = this.steps.shift();
    return step === undefined ? { kind: 'host' } : step(this);
  }
}
