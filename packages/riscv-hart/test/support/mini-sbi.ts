// The minimal SBI a test VMM needs to run the guest programs: the legacy
// console putchar, DBCN, SRST, BASE (probe), TIME and sPI (the VMM turns
// them into VS timer / software interrupts) and HSM for a few harts.
// Everything else answers
// SBI_ERR_NOT_SUPPORTED, as an SBI implementation does for an unknown
// extension. kvm-riscv has the real SBI; this is test support only.

export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;

export const SBI_EXT_0_1_CONSOLE_PUTCHAR = 0x01n;
export const SBI_EXT_BASE = 0x10n;
export const SBI_EXT_SRST = 0x53525354n;
export const SBI_EXT_DBCN = 0x4442434en;
export const SBI_EXT_TIME = 0x54494d45n;
export const SBI_EXT_IPI = 0x735049n;
export const SBI_EXT_HSM = 0x48534dn;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;

/** HSM hart states (hart_get_status). */
export const SBI_HSM_STATE_STARTED = 0n;
export const SBI_HSM_STATE_STOPPED = 1n;

export interface HartStart {
  hart: number;
  addr: bigint;
  opaque: bigint;
}

export const SBI_SRST_RESET_TYPE_SHUTDOWN = 0n;
export const SBI_SRST_RESET_TYPE_COLD_REBOOT = 1n;
export const SBI_SRST_RESET_TYPE_WARM_REBOOT = 2n;

/** SBI spec version 2.0 (major in bits 30:24): the first with DBCN. */
const SBI_SPEC_VERSION = 2n << 24n;

export interface SbiRet {
  error: bigint;
  value: bigint;
}

export interface SrstEvent {
  type: bigint;
  reason: bigint;
}

/** Reads guest physical memory for DBCN; undefined when not RAM. */
export type GuestReader = (gpa: bigint, len: number) => Uint8Array | undefined;

export class MiniSbi {
  private readonly out: string[] = [];
  /** Set by SRST: the VM must stop. */
  reset: SrstEvent | undefined;
  /** Per hart: the last TIME set_timer value (stime), undefined before any. */
  readonly timer: (bigint | undefined)[];
  /** Per hart: set by an IPI to it; the VMM injects and clears it. */
  readonly ipiPending: boolean[];
  /** Per hart: HSM state; hart 0 boots started, the others stopped. */
  readonly started: boolean[];
  /** hart_start requests for the VMM to carry out (it sets pc, a0, a1). */
  readonly starts: HartStart[] = [];

  constructor(
    private readonly readGuest: GuestReader,
    readonly harts = 1,
    /** false: an SBI without DBCN (as OpenSBI before 1.3), so guests use putchar. */
    readonly dbcn = true,
  ) {
    this.timer = new Array<bigint | undefined>(harts).fill(undefined);
    this.ipiPending = new Array<boolean>(harts).fill(false);
    this.started = Array.from({ length: harts }, (_, i) => i === 0);
  }

  get output(): string {
    return this.out.join('');
  }

  /** One SBI call from `hart`: a7 = extension, a6 = function, a0..a5 = arguments. */
  call(eid: bigint, fid: bigint, a: readonly bigint[], hart = 0): SbiRet {
    const ok = (value: bigint): SbiRet => ({ error: SBI_SUCCESS, value });
    const err = (error: bigint): SbiRet => ({ error, value: 0n });
    const arg = (i: number): bigint => a[i] ?? 0n;
    switch (eid) {
      case SBI_EXT_0_1_CONSOLE_PUTCHAR:
        // Legacy calls return only a0 (0 = success).
        this.out.push(String.fromCharCode(Number(arg(0) & 0xffn)));
        return ok(0n);
      case SBI_EXT_BASE:
        switch (fid) {
          case 0n:
            return ok(SBI_SPEC_VERSION);
          case 1n: // implementation id, version
          case 2n:
          case 4n: // mvendorid, marchid, mimpid
          case 5n:
          case 6n:
            return ok(0n);
          case 3n: {
            const probed = arg(0);
            const known = [
              SBI_EXT_BASE,
              SBI_EXT_SRST,
              SBI_EXT_DBCN,
              SBI_EXT_TIME,
              SBI_EXT_IPI,
              SBI_EXT_HSM,
              SBI_EXT_0_1_CONSOLE_PUTCHAR,
            ];
            if (probed === SBI_EXT_DBCN && !this.dbcn) return ok(0n);
            return ok(known.includes(probed) ? 1n : 0n);
          }
          default:
            return err(SBI_ERR_NOT_SUPPORTED);
        }
      case SBI_EXT_DBCN:
        if (!this.dbcn) return err(SBI_ERR_NOT_SUPPORTED);
        switch (fid) {
          case 0n: {
            // write(num_bytes, base_addr_lo, base_addr_hi)
            const len = Number(BigInt.asUintN(32, arg(0)));
            // On RV64 the address is base_addr_lo; a nonzero high half is
            // beyond any physical address.
            if (arg(2) !== 0n) return err(SBI_ERR_INVALID_PARAM);
            if (len === 0) return ok(0n);
            const bytes = this.readGuest(BigInt.asUintN(64, arg(1)), len);
            if (!bytes) return err(SBI_ERR_INVALID_PARAM);
            this.out.push(String.fromCharCode(...bytes));
            return ok(BigInt(len));
          }
          case 1n: // read: there is never input
            return ok(0n);
          case 2n: // write_byte
            this.out.push(String.fromCharCode(Number(arg(0) & 0xffn)));
            return ok(0n);
          default:
            return err(SBI_ERR_NOT_SUPPORTED);
        }
      case SBI_EXT_TIME:
        if (fid !== 0n) return err(SBI_ERR_NOT_SUPPORTED);
        // set_timer(stime_value): also clears a pending timer interrupt.
        this.timer[hart] = BigInt.asUintN(64, arg(0));
        return ok(0n);
      case SBI_EXT_IPI: {
        if (fid !== 0n) return err(SBI_ERR_NOT_SUPPORTED);
        // send_ipi(hart_mask, hart_mask_base); base -1 means every hart.
        // A hart that does not exist is INVALID_PARAM, checked before any
        // IPI is sent.
        const mask = BigInt.asUintN(64, arg(0));
        const base = BigInt.asUintN(64, arg(1));
        const targets: number[] = [];
        if (base === BigInt.asUintN(64, -1n)) {
          for (let i = 0; i < this.harts; i++) targets.push(i);
        } else {
          for (let bit = 0n; bit < 64n; bit++) {
            if (!((mask >> bit) & 1n)) continue;
            const id = base + bit;
            if (id >= BigInt(this.harts)) return err(SBI_ERR_INVALID_PARAM);
            targets.push(Number(id));
          }
        }
        for (const t of targets) this.ipiPending[t] = true;
        return ok(0n);
      }
      case SBI_EXT_HSM: {
        const id = BigInt.asUintN(64, arg(0));
        const valid = id < BigInt(this.harts);
        switch (fid) {
          case 0n: // hart_start(hartid, start_addr, opaque)
            if (!valid) return err(SBI_ERR_INVALID_PARAM);
            if (this.started[Number(id)]) return err(SBI_ERR_ALREADY_AVAILABLE);
            this.started[Number(id)] = true;
            this.starts.push({
              hart: Number(id),
              addr: BigInt.asUintN(64, arg(1)),
              opaque: BigInt.asUintN(64, arg(2)),
            });
            return ok(0n);
          case 1n: // hart_stop: the calling hart; the VMM stops running it
            this.started[hart] = false;
            return ok(0n);
          case 2n: // hart_get_status(hartid)
            if (!valid) return err(SBI_ERR_INVALID_PARAM);
            return ok(this.started[Number(id)] ? SBI_HSM_STATE_STARTED : SBI_HSM_STATE_STOPPED);
          default:
            return err(SBI_ERR_NOT_SUPPORTED);
        }
      }
      case SBI_EXT_SRST: {
        if (fid !== 0n) return err(SBI_ERR_NOT_SUPPORTED);
        const type = BigInt.asUintN(32, arg(0));
        const reason = BigInt.asUintN(32, arg(1));
        if (type > SBI_SRST_RESET_TYPE_WARM_REBOOT) return err(SBI_ERR_INVALID_PARAM);
        if (reason > 1n) return err(SBI_ERR_INVALID_PARAM);
        this.reset = { type, reason };
        return ok(0n);
      }
      default:
        return err(SBI_ERR_NOT_SUPPORTED);
    }
  }
}
