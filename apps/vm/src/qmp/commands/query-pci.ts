import {
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_VENDOR_ID,
} from '../../pci/pci-function.ts';
import type { QmpCommand } from '../command-table.ts';
import type { QmpPciFunction } from '../vm.ts';

const PCI_CLASS_DEVICE = 0x0a;
const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
const PCI_SUBSYSTEM_ID = 0x2e;
const PCI_HEADER_TYPE_NORMAL = 0;

/** The names QEMU's query-pci gives some class codes (class_info.desc); other classes have no desc. */
const CLASS_DESC: Record<number, string> = {
  256: 'SCSI controller',
  257: 'IDE controller',
  512: 'Ethernet controller',
  768: 'VGA controller',
  896: 'Display controller',
  1536: 'Host bridge',
  1540: 'PCI bridge',
  3075: 'USB controller',
};

/** QEMU's PCI_BAR_UNMAPPED (~0) as its int64 `address` field prints it. */
const BAR_UNMAPPED = -1;

function regions(bars: QmpPciFunction['bars']) {
  if (!bars) return [];
  const out = [];
  for (const [bar, spec] of bars.bars.entries()) {
    if (!spec || spec.size === 0) continue;
    const address = bars.address(bar) ?? BAR_UNMAPPED;
    out.push(
      spec.io
        ? { bar, type: 'io', address, size: spec.size }
        : {
            bar,
            type: 'memory',
            address,
            size: spec.size,
            prefetch: !!spec.prefetch,
            mem_type_64: !!spec.is64,
          },
    );
  }
  return out;
}

/** One PciDeviceInfo, read from the function's config space as the guest sees it. */
function deviceInfo(f: QmpPciFunction) {
  const cfg = (off: number, size: 1 | 2) => f.config.configRead(off, size);
  const cls = cfg(PCI_CLASS_DEVICE, 2);
  const pin = cfg(PCI_INTERRUPT_PIN, 1);
  const normal = (cfg(PCI_HEADER_TYPE, 1) & 0x7f) === PCI_HEADER_TYPE_NORMAL;
  return {
    bus: f.bus,
    slot: f.slot,
    function: f.function,
    class_info: { class: cls, ...(CLASS_DESC[cls] ? { desc: CLASS_DESC[cls] } : {}) },
    id: {
      device: cfg(PCI_DEVICE_ID, 2),
      vendor: cfg(PCI_VENDOR_ID, 2),
      ...(normal
        ? { subsystem: cfg(PCI_SUBSYSTEM_ID, 2), 'subsystem-vendor': cfg(PCI_SUBSYSTEM_VENDOR_ID, 2) }
        : {}),
    },
    ...(pin ? { irq: cfg(PCI_INTERRUPT_LINE, 1) } : {}),
    irq_pin: pin,
    qdev_id: '',
    regions: regions(f.bars),
  };
}

/**
 * query-pci: QEMU's PciInfo list, one entry per bus with its functions in
 * devfn order. Identity, class and interrupt pin/line come from config
 * space; regions from the BARs the VMM emulates, with the address the guest
 * decoded them at, or -1 while a BAR is not decoded (QEMU's unmapped BAR).
 * This board's host bridge has no function of its own at 00:00.0 (QEMU's
 * gpex has one), so it is not listed. No device has a qdev id.
 */
export const queryPci: QmpCommand = {
  name: 'query-pci',
  args: {},
  handler(_args, { vm }) {
    const fns = vm.pciFunctions();
    const buses = [...new Set(fns.map((f) => f.bus))].sort((a, b) => a - b);
    if (!buses.length) buses.push(0);
    return buses.map((bus) => ({
      bus,
      devices: fns
        .filter((f) => f.bus === bus)
        .sort((a, b) => a.slot * 8 + a.function - (b.slot * 8 + b.function))
        .map(deviceInfo),
    }));
  },
};
