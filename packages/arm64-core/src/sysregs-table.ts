import type { Arm64Cpu } from './cpu.ts';
import * as R from './sysreg.ts';

/** How one system register reads and writes, and who may touch it. */
export interface SysRegAccess {
  /** MRS (and the host's getSysReg). */
  read(): bigint;
  /** MSR from the guest (and the host's setSysReg); absent: read-only. */
  write?(value: bigint): void;
  /** The host may write it although the guest cannot (ID registers, EL2 controls). */
  hostWrite?(value: bigint): void;
  /** An EL2 register: UNDEFINED from EL1/EL0, host access only. */
  el2?: boolean;
  /** In the HCR_EL2.TVM (writes) / TRVM (reads) trap group. */
  vm?: boolean;
  /** In the HCR_EL2.TID3 group (ID registers). */
  id3?: boolean;
  /** EL0 may access it; the function says whether this access is allowed. */
  el0?: (write: boolean) => boolean;
}

const ID_VALUES: [number, bigint][] = [
  // ID_AA64PFR0_EL1: EL0 and EL1 AArch64 only, FP and AdvSIMD implemented, no GIC sysregs.
  [R.ID_AA64PFR0_EL1, 0x11n],
  // ID_AA64DFR0_EL1: Armv8.0 debug, no PMU.
  [R.ID_AA64DFR0_EL1, 0x6n],
  // ID_AA64ISAR0_EL1: CRC32 and the LSE atomics.
  [R.ID_AA64ISAR0_EL1, 0x0021_0000n],
  // ID_AA64MMFR0_EL1: 40-bit PA, 16-bit ASID, 4 KiB granule only.
  [R.ID_AA64MMFR0_EL1, 0x0f00_0022n],
  [R.REVIDR_EL1, 0n],
];

/** Cortex-A57's cache geometry: L1I 48 KiB, L1D 32 KiB, L2 2 MiB (CLIDR/CCSIDR). */
const CLIDR = 0x0a20_0023n;
function ccsidr(csselr: bigint): bigint {
  switch (Number(csselr & 0xfn)) {
    case 0:
      return 0x701f_e00an; // L1 data
    case 1:
      return 0x201f_e012n; // L1 instruction
    case 2:
      return 0x707f_e07an; // L2 unified
    default:
      return 0n;
  }
}

function el0Counter(cpu: Arm64Cpu, bit: bigint): (write: boolean) => boolean {
  return (write) => !write && (cpu.cntkctl & bit) !== 0n;
}

/** TVAL reads as CVAL - counter, 32-bit signed; a write sets CVAL = counter + TVAL. */
function tvalRead(cval: bigint, now: bigint): bigint {
  return BigInt.asUintN(32, cval - now);
}

/** The system registers this CPU implements, keyed by their MRS/MSR encoding. */
export function buildSysRegs(cpu: Arm64Cpu): Map<number, SysRegAccess> {
  const m = new Map<number, SysRegAccess>();
  const plain = (enc: number, init: bigint, extra: Partial<SysRegAccess> = {}) => {
    let value = init;
    m.set(enc, {
      read: () => value,
      write: (v) => {
        value = v;
      },
      ...extra,
    });
  };
  const flushing = (get: () => bigint, set: (v: bigint) => void): SysRegAccess => ({
    read: get,
    write: (v) => {
      set(v);
      cpu.flushTlb();
    },
    vm: true,
  });

  // ID registers (group 3: op0=3, op1=0, CRn=0, CRm=1..7) read as zero unless listed.
  const ids = new Map<number, bigint>(ID_VALUES);
  for (let crm = 1; crm <= 7; crm++) {
    for (let op2 = 0; op2 < 8; op2++) {
      const enc = R.sysReg(3, 0, 0, crm, op2);
      let value = ids.get(enc) ?? 0n;
      m.set(enc, {
        read: () => value,
        hostWrite: (v) => {
          value = v;
        },
        id3: true,
      });
    }
  }
  m.set(R.MIDR_EL1, { read: () => cpu.vpidr });
  m.set(R.MPIDR_EL1, { read: () => cpu.vmpidr });
  m.set(R.REVIDR_EL1, { read: () => 0n });
  m.set(R.CLIDR_EL1, { read: () => CLIDR });
  let csselr = 0n;
  m.set(R.CSSELR_EL1, {
    read: () => csselr,
    write: (v) => {
      csselr = v & 0xfn;
    },
  });
  m.set(R.CCSIDR_EL1, { read: () => ccsidr(csselr) });
  m.set(R.CTR_EL0, { read: () => 0x8444_c004n, el0: () => (cpu.sctlr & (1n << 15n)) !== 0n });
  m.set(R.DCZID_EL0, { read: () => 4n, el0: () => true });

  m.set(
    R.SCTLR_EL1,
    flushing(
      () => cpu.sctlr,
      (v) => {
        cpu.sctlr = v;
      },
    ),
  );
  m.set(
    R.TTBR0_EL1,
    flushing(
      () => cpu.ttbr0,
      (v) => {
        cpu.ttbr0 = v;
      },
    ),
  );
  m.set(
    R.TTBR1_EL1,
    flushing(
      () => cpu.ttbr1,
      (v) => {
        cpu.ttbr1 = v;
      },
    ),
  );
  m.set(
    R.TCR_EL1,
    flushing(
      () => cpu.tcr,
      (v) => {
        cpu.tcr = v;
      },
    ),
  );
  plain(R.ACTLR_EL1, 0n);
  m.set(R.CPACR_EL1, {
    read: () => cpu.cpacr,
    write: (v) => {
      cpu.cpacr = v & (3n << 20n);
    },
  });
  m.set(R.MAIR_EL1, {
    read: () => cpu.mair,
    write: (v) => {
      cpu.mair = v;
    },
    vm: true,
  });
  plain(R.AMAIR_EL1, 0n, { vm: true });
  plain(R.AFSR0_EL1, 0n, { vm: true });
  plain(R.AFSR1_EL1, 0n, { vm: true });
  plain(R.CONTEXTIDR_EL1, 0n, { vm: true });
  m.set(R.ESR_EL1, {
    read: () => cpu.esr,
    write: (v) => {
      cpu.esr = v & 0xffff_ffffn;
    },
    vm: true,
  });
  m.set(R.FAR_EL1, {
    read: () => cpu.far,
    write: (v) => {
      cpu.far = v;
    },
    vm: true,
  });
  m.set(R.PAR_EL1, {
    read: () => cpu.par,
    write: (v) => {
      cpu.par = v;
    },
  });
  m.set(R.VBAR_EL1, {
    read: () => cpu.vbar,
    write: (v) => {
      cpu.vbar = v & ~0x7ffn;
    },
  });
  m.set(R.ELR_EL1, {
    read: () => cpu.elr,
    write: (v) => {
      cpu.elr = v;
    },
  });
  m.set(R.SPSR_EL1, {
    read: () => cpu.spsr,
    write: (v) => {
      cpu.spsr = v & 0xffff_ffffn;
    },
  });
  m.set(R.ISR_EL1, {
    read: () => (cpu.virqPending() ? 0x80n : 0n) | (cpu.vfiqPending() ? 0x40n : 0n),
  });
  plain(R.TPIDR_EL1, 0n);
  plain(R.TPIDR_EL0, 0n, { el0: () => true });
  plain(R.TPIDRRO_EL0, 0n, { el0: (w) => !w });
  m.set(R.CNTKCTL_EL1, {
    read: () => cpu.cntkctl,
    write: (v) => {
      cpu.cntkctl = v & 0x3ffn;
    },
  });
  // Debug registers Linux and U-Boot touch at boot; no debug events are generated.
  plain(R.MDSCR_EL1, 0n);
  plain(R.MDCCINT_EL1, 0n);
  let oslk = 0n;
  m.set(R.OSLAR_EL1, {
    read: () => 0n,
    write: (v) => {
      oslk = v & 1n;
    },
  });
  m.set(R.OSLSR_EL1, { read: () => 0x8n | (oslk << 1n) });
  plain(R.OSDLR_EL1, 0n);

  // Special-purpose registers (PSTATE views, the SP of EL0).
  m.set(R.SP_EL0, {
    read: () => cpu.spEl0,
    write: (v) => {
      cpu.spEl0 = v;
    },
  });
  m.set(R.NZCV, {
    read: () => BigInt(cpu.pstate & 0xf000_0000) & 0xf000_0000n,
    write: (v) => {
      cpu.pstate = ((cpu.pstate & 0x0fff_ffff) | (Number(v) & 0xf000_0000)) >>> 0;
    },
    el0: () => true,
  });
  m.set(R.DAIF, {
    read: () => BigInt(cpu.pstate & 0x3c0),
    write: (v) => {
      cpu.pstate = ((cpu.pstate & ~0x3c0) | (Number(v) & 0x3c0)) >>> 0;
      cpu.irqCheck = true;
    },
    el0: () => (cpu.sctlr & (1n << 9n)) !== 0n,
  });
  m.set(R.CURRENTEL, { read: () => BigInt(cpu.pstate & 0xc) });
  m.set(R.SPSEL, {
    read: () => BigInt(cpu.pstate & 1),
    write: (v) => {
      cpu.pstate = ((cpu.pstate & ~1) | (Number(v) & 1)) >>> 0;
    },
  });
  m.set(R.FPCR, {
    read: () => cpu.fpcr,
    write: (v) => {
      cpu.fpcr = v & 0x07ff_9f00n;
    },
    el0: () => true,
  });
  m.set(R.FPSR, {
    read: () => cpu.fpsr,
    write: (v) => {
      cpu.fpsr = v & 0xf800_009fn;
    },
    el0: () => true,
  });

  // The generic timer.
  m.set(R.CNTFRQ_EL0, { read: () => cpu.cntfrq, el0: (w) => !w && (cpu.cntkctl & 3n) !== 0n });
  m.set(R.CNTPCT_EL0, { read: () => cpu.counter(), el0: el0Counter(cpu, 1n) });
  m.set(R.CNTVCT_EL0, { read: () => cpu.virtualCounter(), el0: el0Counter(cpu, 2n) });
  const ctl = (
    get: () => bigint,
    set: (v: bigint) => void,
    level: () => boolean,
    el0bit: bigint,
  ): SysRegAccess => ({
    read: () => (get() & 3n) | ((get() & 1n) !== 0n && level() ? 4n : 0n),
    write: (v) => set(v & 3n),
    el0: () => (cpu.cntkctl & el0bit) !== 0n,
  });
  const pIstatus = () => cpu.counter() >= cpu.cntpCval;
  const vIstatus = () => cpu.virtualCounter() >= cpu.cntvCval;
  m.set(
    R.CNTP_CTL_EL0,
    ctl(
      () => cpu.cntpCtl,
      (v) => {
        cpu.cntpCtl = v;
      },
      pIstatus,
      1n << 9n,
    ),
  );
  m.set(
    R.CNTV_CTL_EL0,
    ctl(
      () => cpu.cntvCtl,
      (v) => {
        cpu.cntvCtl = v;
      },
      vIstatus,
      1n << 8n,
    ),
  );
  m.set(R.CNTP_CVAL_EL0, {
    read: () => cpu.cntpCval,
    write: (v) => {
      cpu.cntpCval = v;
    },
    el0: () => (cpu.cntkctl & (1n << 9n)) !== 0n,
  });
  m.set(R.CNTV_CVAL_EL0, {
    read: () => cpu.cntvCval,
    write: (v) => {
      cpu.cntvCval = v;
    },
    el0: () => (cpu.cntkctl & (1n << 8n)) !== 0n,
  });
  m.set(R.CNTP_TVAL_EL0, {
    read: () => tvalRead(cpu.cntpCval, cpu.counter()),
    write: (v) => {
      cpu.cntpCval = BigInt.asUintN(64, cpu.counter() + BigInt.asIntN(32, v));
    },
    el0: () => (cpu.cntkctl & (1n << 9n)) !== 0n,
  });
  m.set(R.CNTV_TVAL_EL0, {
    read: () => tvalRead(cpu.cntvCval, cpu.virtualCounter()),
    write: (v) => {
      cpu.cntvCval = BigInt.asUintN(64, cpu.virtualCounter() + BigInt.asIntN(32, v));
    },
    el0: () => (cpu.cntkctl & (1n << 8n)) !== 0n,
  });

  // EL2 controls: the hypervisor's, UNDEFINED to the guest.
  const el2 = (enc: number, get: () => bigint, set: (v: bigint) => void) =>
    m.set(enc, { read: get, hostWrite: set, el2: true });
  el2(
    R.HCR_EL2,
    () => cpu.hcr,
    (v) => {
      cpu.hcr = v;
      cpu.flushTlb();
    },
  );
  el2(
    R.VTTBR_EL2,
    () => cpu.vttbr,
    (v) => {
      cpu.vttbr = v;
      cpu.flushTlb();
    },
  );
  el2(
    R.VTCR_EL2,
    () => cpu.vtcr,
    (v) => {
      cpu.vtcr = v;
      cpu.flushTlb();
    },
  );
  el2(
    R.CNTVOFF_EL2,
    () => cpu.cntvoff,
    (v) => {
      cpu.cntvoff = v;
    },
  );
  el2(
    R.VPIDR_EL2,
    () => cpu.vpidr,
    (v) => {
      cpu.vpidr = v & 0xffff_ffffn;
    },
  );
  el2(
    R.VMPIDR_EL2,
    () => cpu.vmpidr,
    (v) => {
      cpu.vmpidr = v;
    },
  );
  el2(
    R.SP_EL1,
    () => cpu.spEl1,
    (v) => {
      cpu.spEl1 = v;
    },
  );
  return m;
}
