import type { EventFd } from '@tsvirt/core-bus';

/**
 * struct _ioeventfd: a guest write of `length` bytes to `addr` (any length
 * when 0), optionally carrying `datamatch`, signals `eventfd` instead of
 * exiting to user space (ioeventfd_in_range()).
 */
export class Ioeventfd {
  constructor(
    /** Bus index (KVM_MMIO_BUS, KVM_PIO_BUS, ...). */
    readonly busIdx: number,
    /** Guest address (or port) watched. */
    readonly addr: number,
    /** Access length in bytes; 0 matches any length. */
    readonly length: number,
    /** The eventfd signalled on a match. */
    readonly eventfd: EventFd,
    /** undefined: any value (no KVM_IOEVENTFD_FLAG_DATAMATCH). */
    readonly datamatch: bigint | undefined,
  ) {}

  /** Matches any written value. */
  get wildcard(): boolean {
    return this.datamatch === undefined;
  }

  /** ioeventfd_in_range() for a write at this address. */
  matches(data: Uint8Array): boolean {
    if (this.length === 0) return true;
    if (data.length !== this.length) return false;
    const want = this.datamatch;
    if (want === undefined) return true;
    let v = 0n;
    for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
    return v === want;
  }

  /** ioeventfd_check_collision(): would `o` answer the same writes as this one? */
  collides(o: Ioeventfd): boolean {
    if (o.busIdx !== this.busIdx || o.addr !== this.addr) return false;
    if (o.length === 0 || this.length === 0) return true;
    return o.length === this.length && (o.wildcard || this.wildcard || o.datamatch === this.datamatch);
  }
}
