import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FLASH_BASES,
  PCIE_ECAM_BASE,
  PCIE_MMIO32_BASE,
  PLIC_BASE,
  pcieMmio64Base,
  RAM_BASE,
  UART0_BASE,
} from '../src/board/layout.ts';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { VmRunner } from '../src/vm-runner.ts';

// Issue 13, "Hostile guests": whatever a guest writes to PCI config space,
// the VMM keeps running and every board device keeps answering. The guest's
// accesses are made as the vCPU makes them: through a memslot when one
// covers the address, else as an MMIO exit to the bus, where an unclaimed
// read is all-ones and an unclaimed write is dropped (vm-runner).

/** The 64-bit window's base for the default --mem (it sits above RAM). */
const PCIE_MMIO64_BASE = pcieMmio64Base(parseArgs([]).mem);
const GPU_ID = 0x7e57_0001; // BAR0 REG_ID of the sample GPU
const REG_MODE_WIDTH = 0x10;
const VRAM_SIZE = 4 << 20; // sample_gpu-small

async function machine(argv: string[] = [], out: (byte: number) => void = () => {}): Promise<Machine> {
  return Machine.create(parseArgs(argv), DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), out);
}

function guestRead(m: Machine, gpa: number, len: 1 | 2 | 4 = 4): number {
  const d = new Uint8Array(len);
  if (m.vm.gfnToMemslot(Math.floor(gpa / 4096)) !== undefined) m.vm.readGuest(gpa, d);
  else if (!m.mmio.read(gpa, d)) d.fill(0xff);
  let v = 0;
  for (let i = len - 1; i >= 0; i--) v = v * 256 + d[i]!;
  return v;
}

function guestWrite(m: Machine, gpa: number, value: number, len: 1 | 2 | 4 = 4): void {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = Math.floor(value / 256 ** i) & 0xff;
  if (m.vm.gfnToMemslot(Math.floor(gpa / 4096)) !== undefined) m.vm.writeGuest(gpa, d);
  else m.mmio.write(gpa, d);
}

/** Config space of bus 0 device `slot` function 0, through the ECAM window. */
const cfgAddr = (slot: number, off: number) => PCIE_ECAM_BASE + (slot << 15) + off;
const cfgWrite = (m: Machine, off: number, v: number, len: 1 | 2 | 4 = 4, slot = 1) =>
  guestWrite(m, cfgAddr(slot, off), v, len);

/** Program a BAR (0 = the 32-bit register BAR, 2 = the 64-bit VRAM BAR) as a guest does, dword by dword. */
function setBar(m: Machine, bar: 0 | 2, addr: number, slot = 1): void {
  cfgWrite(m, 0x10 + 4 * bar, addr % 2 ** 32, 4, slot);
  if (bar === 2) cfgWrite(m, 0x14 + 4 * bar, Math.floor(addr / 2 ** 32), 4, slot);
}

/** Memory decode on, BAR0 and BAR2 at the bottom of the windows. */
function enableGpu(m: Machine, slot = 1, at = 0): void {
  setBar(m, 0, PCIE_MMIO32_BASE + at, slot);
  setBar(m, 2, PCIE_MMIO64_BASE + at * 1024, slot);
  cfgWrite(m, 0x04, 0x6, 2, slot);
}

/** Every board device answers as itself; a list of the ones that do not. */
function brokenDevices(m: Machine): string[] {
  const broken: string[] = [];
  const scr = UART0_BASE + 7;
  guestWrite(m, scr, 0xa5, 1);
  if (guestRead(m, scr, 1) !== 0xa5) broken.push('uart');
  guestWrite(m, PLIC_BASE + 4, 5); // source 1 priority
  if (guestRead(m, PLIC_BASE + 4) !== 5) broken.push('plic');
  if (guestRead(m, cfgAddr(1, 0)) !== 0x0001_7e57) broken.push('ecam');
  for (const [i, base] of FLASH_BASES.entries()) {
    guestWrite(m, base, 0x98); // CFI query
    const q = guestRead(m, base + 0x10 * 4) & 0xff;
    guestWrite(m, base, 0xff); // back to read array
    if (q !== 0x51 || guestRead(m, base) !== 0xffff_ffff) broken.push(`flash${i}`);
  }
  for (const at of [RAM_BASE, RAM_BASE + 0x1000, RAM_BASE + m.opts.mem - 4]) {
    guestWrite(m, at, 0x1234_5678 ^ at);
    if (
      guestRead(m, at) !== (0x1234_5678 ^ at) >>> 0 ||
      m.vm.gfnToMemslot(Math.floor(at / 4096)) === undefined
    )
      broken.push(`ram@${at.toString(16)}`);
  }
  return broken;
}

/** The VRAM as the device has it (through the VMM's mmap of BAR2). */
function vramWord(m: Machine, offset: number, index = 0): number {
  const b = m.passthrough[index]!.fn.backing(2);
  if (b.kind !== 'mmap') throw new Error('BAR2 is mmapped');
  const d = new Uint8Array(4);
  m.mm.copyFromUser(b.hva + offset, d);
  return new DataView(d.buffer).getUint32(0, true);
}

const TARGETS: [string, number][] = [
  ['the UART', UART0_BASE],
  ['the PLIC', PLIC_BASE],
  ['inside the PLIC', PLIC_BASE + 0x20_0000],
  ['the ECAM window', PCIE_ECAM_BASE],
  ['inside the ECAM window', PCIE_ECAM_BASE + 0x1000],
  ['flash bank 0', FLASH_BASES[0]],
  ['flash bank 1', FLASH_BASES[1]],
  ['inside flash bank 1', FLASH_BASES[1] + 0x40_0000],
  ['RAM', RAM_BASE],
  ['inside RAM', RAM_BASE + 0x40_0000],
];

describe('hostile BAR placement (issue 13)', () => {
  for (const [what, target] of TARGETS) {
    it(`a BAR moved onto ${what} and away leaves the device and the BAR working`, async () => {
      const m = await machine();
      enableGpu(m);
      expect(brokenDevices(m)).toEqual([]);
      // The trapped register BAR, then the mmapped VRAM BAR, onto the device and back into a window.
      setBar(m, 0, target);
      expect(brokenDevices(m)).toEqual([]);
      setBar(m, 0, PCIE_MMIO32_BASE + 0x10_0000);
      expect(brokenDevices(m)).toEqual([]);
      expect(guestRead(m, PCIE_MMIO32_BASE + 0x10_0000)).toBe(GPU_ID);
      setBar(m, 2, target);
      expect(brokenDevices(m)).toEqual([]);
      setBar(m, 2, PCIE_MMIO64_BASE + 0x40_0000);
      expect(brokenDevices(m)).toEqual([]);
      guestWrite(m, PCIE_MMIO64_BASE + 0x40_0010, 0xc0ff_ee00);
      expect(vramWord(m, 0x10)).toBe(0xc0ff_ee00);
      expect(m.vm.gfnToMemslot((PCIE_MMIO64_BASE + 0x40_0000) / 4096)).toBeDefined(); // still a memslot
    });
  }

  it('a BAR outside every window decodes nothing: reads all-ones, writes dropped', async () => {
    const m = await machine();
    enableGpu(m);
    guestWrite(m, PCIE_MMIO32_BASE + REG_MODE_WIDTH, 320);
    guestWrite(m, PCIE_MMIO64_BASE, 0x1111_1111);
    const nowhere = 0x0010_0000; // below every device, no window
    const pastRam = RAM_BASE + m.opts.mem + 0x10_0000;
    for (const at of [nowhere, pastRam]) {
      setBar(m, 0, at);
      setBar(m, 2, at + 0x40_0000);
      expect(guestRead(m, at)).toBe(0xffff_ffff);
      expect(guestRead(m, at + 0x40_0000)).toBe(0xffff_ffff);
      guestWrite(m, at + REG_MODE_WIDTH, 640);
      guestWrite(m, at + 0x40_0000, 0x2222_2222);
      expect(m.vm.gfnToMemslot((at + 0x40_0000) / 4096)).toBeUndefined();
    }
    expect(vramWord(m, 0)).toBe(0x1111_1111);
    setBar(m, 0, PCIE_MMIO32_BASE);
    expect(guestRead(m, PCIE_MMIO32_BASE + REG_MODE_WIDTH)).toBe(320);
    expect(brokenDevices(m)).toEqual([]);
  });

  it('overlapping BARs: the one moved last wins, the other shows around it, and they un-overlap', async () => {
    const m = await machine();
    enableGpu(m);
    const vram = PCIE_MMIO32_BASE + 0x40_0000; // the 64-bit BAR may sit below 4 GiB
    setBar(m, 2, vram);
    guestWrite(m, vram + 0x1000, 0xaaaa_5555);
    setBar(m, 0, vram + 0x1000); // moved last: the registers cover VRAM page 1
    expect(guestRead(m, vram + 0x1000)).toBe(GPU_ID);
    guestWrite(m, vram, 0x0bad_f00d);
    guestWrite(m, vram + 0x2000, 0x600d_f00d);
    expect([vramWord(m, 0), vramWord(m, 0x2000)]).toEqual([0x0bad_f00d, 0x600d_f00d]);
    // The visible VRAM is two memslots; the covered page is none.
    const slotAt = (gpa: number) => m.vm.gfnToMemslot(gpa / 4096);
    expect(slotAt(vram)).toBeDefined();
    expect(slotAt(vram + 0x2000)).toBeDefined();
    expect(slotAt(vram + 0x1000)).toBeUndefined();
    expect(slotAt(vram)).not.toBe(slotAt(vram + 0x2000));
    // Move VRAM away and back: now it was moved last and covers the registers.
    setBar(m, 2, vram + VRAM_SIZE);
    setBar(m, 2, vram);
    expect(guestRead(m, vram + 0x1000)).toBe(0xaaaa_5555);
    expect(slotAt(vram + 0x1000)).toBeDefined();
    // Un-overlap: both whole, VRAM one memslot again.
    setBar(m, 0, PCIE_MMIO32_BASE);
    expect(guestRead(m, PCIE_MMIO32_BASE)).toBe(GPU_ID);
    expect(slotAt(vram)).toBe(slotAt(vram + VRAM_SIZE - 0x1000));
    expect(guestRead(m, vram + 0x1000)).toBe(0xaaaa_5555);
    // Memory decode off hides both; on again shows both.
    cfgWrite(m, 0x04, 0x0, 2);
    expect([guestRead(m, PCIE_MMIO32_BASE), guestRead(m, vram)]).toEqual([0xffff_ffff, 0xffff_ffff]);
    cfgWrite(m, 0x04, 0x2, 2);
    expect([guestRead(m, PCIE_MMIO32_BASE), guestRead(m, vram)]).toEqual([GPU_ID, 0x0bad_f00d]);
    expect(brokenDevices(m)).toEqual([]);
  });

  it("two devices' BARs overlapping: moving the top one away reveals the other", async () => {
    const m = await machine(['--mdev', 'sample_gpu-small', '--mdev', 'sample_gpu-small']);
    enableGpu(m, 1);
    enableGpu(m, 2, 0x10_0000);
    const a = PCIE_MMIO32_BASE;
    const b = PCIE_MMIO32_BASE + 0x10_0000;
    guestWrite(m, a + REG_MODE_WIDTH, 111);
    guestWrite(m, b + REG_MODE_WIDTH, 222);
    setBar(m, 0, a, 2); // the second GPU's registers over the first's
    expect(guestRead(m, a + REG_MODE_WIDTH)).toBe(222);
    setBar(m, 0, b, 2);
    expect(guestRead(m, a + REG_MODE_WIDTH)).toBe(111);
    expect(guestRead(m, b + REG_MODE_WIDTH)).toBe(222);
    expect(brokenDevices(m)).toEqual([]);
  });

  it('sizing a BAR with all-ones while decode is on maps nothing there, as QEMU (pci_bar_address)', async () => {
    const m = await machine();
    enableGpu(m);
    cfgWrite(m, 0x10, 0xffff_ffff);
    expect(guestRead(m, cfgAddr(1, 0x10))).toBe(0xffff_f000);
    expect(guestRead(m, 0xffff_f000)).toBe(0xffff_ffff);
    setBar(m, 0, PCIE_MMIO32_BASE);
    expect(guestRead(m, PCIE_MMIO32_BASE)).toBe(GPU_ID);
  });

  it('thousands of seeded random config-space writes never throw and leave every board device reachable; the default guest then runs', async () => {
    let out = '';
    const m = await machine([], (b) => {
      out += String.fromCharCode(b);
    });
    let seed = 0x13;
    const rand = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const places = [
      ...TARGETS.map(([, a]) => a),
      PCIE_MMIO32_BASE,
      PCIE_MMIO32_BASE + 0x1000,
      PCIE_MMIO32_BASE + 0x40_0000,
      0xffff_ffff,
      0,
    ];
    for (let n = 0; n < 3000; n++) {
      const size = pick([1, 2, 4] as const);
      const r = rand();
      const off = r < 0.5 ? 0x10 + Math.floor(rand() * 24) : r < 0.7 ? 0x04 : Math.floor(rand() * 0x1000);
      const aligned = off & ~(size - 1);
      const v = rand() < 0.5 ? pick(places) : Math.floor(rand() * 2 ** 32);
      const slot = rand() < 0.95 ? 1 : pick([0, 2, 31]);
      cfgWrite(m, aligned, v >>> (8 * (aligned & 3)), size, slot);
      const broken = brokenDevices(m);
      if (broken.length) throw new Error(`after write ${n} (0x${aligned.toString(16)}/${size}): ${broken}`);
    }
    // The default guest reassigns the BARs and drives the GPU to a clean shutdown.
    out = '';
    const runner = new VmRunner(m);
    runner.markInputEnded();
    const result = await runner.run();
    expect(result.status).toBe(0);
    expect(out).toContain('dma complete: fence irq received, copy verified');
  }, 60_000);
});
