import type { Passthrough } from './machine.ts';
import type { RunResult } from './vm-runner.ts';

/** A passed-through device as the VM user sees it: its UUID (to find it in `tsvirt-mdev list`) and its slot. */
export interface DeviceReport {
  uuid: string;
  parent: string;
  mdev_type: string;
  /** PCI address in the guest, bus:slot.function. */
  pci: string;
  /** The PLIC line of its INTx, 0 when it has none. */
  irq: number;
}

export function deviceReports(passthrough: readonly Passthrough[]): DeviceReport[] {
  return passthrough.map((p) => ({
    uuid: p.mdev.uuid,
    parent: p.mdev.parent.name,
    mdev_type: p.mdev.type.sysfsName,
    pci: `00:${p.slot.toString(16).padStart(2, '0')}.0`,
    irq: p.irq,
  }));
}

/** The line printed for each device before the guest runs (stderr). */
export function formatDevice(d: DeviceReport): string {
  return `vm: mdev ${d.uuid} (${d.mdev_type} on ${d.parent}) at ${d.pci}`;
}

/**
 * `--json`: the summary as one JSON object on one line. Field names are
 * snake_case as in QMP and mdevctl's JSON; `exits` counts KVM exits by
 * name; `wall_ms` is the run's wall-clock time; `start_ms` the time from
 * the process's start to the first KVM_RUN; `max_rss_kib` the process's peak
 * RSS; `guest_touched_kib` the guest RAM that has host pages behind it.
 */
export function summaryJson(r: RunResult, devices: readonly DeviceReport[], version: string): string {
  const s = r.stats;
  return JSON.stringify({
    version,
    status: r.status,
    reason: r.reason,
    instructions: s.instructions,
    exits: Object.fromEntries(s.exits),
    unclaimed_mmio: s.unclaimedMmio,
    irqs_relayed: s.irqRelayed ?? 0,
    irqs_bypassed: s.irqBypassed ?? 0,
    wall_ms: Math.round(s.wallMs),
    // The VMM's own start: from the process's start to the first KVM_RUN (null if no vCPU ran).
    start_ms: s.firstRunMs === undefined ? null : Math.round(s.firstRunMs),
    max_rss_kib: s.maxRssBytes === undefined ? null : Math.round(s.maxRssBytes / 1024),
    guest_touched_kib: Math.round(s.guestTouchedBytes / 1024),
    devices,
  });
}
