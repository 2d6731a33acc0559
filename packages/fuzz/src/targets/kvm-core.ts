import { EventFd, FdTable, fail } from '@tsvirt/core-bus';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import {
  type IrqBypassConsumer,
  type IrqBypassManager,
  type IrqBypassProducer,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_DEV_TYPE_RISCV_AIA,
  KVM_DEV_TYPE_VFIO,
  KVM_IOEVENTFD_FLAG_DATAMATCH,
  KVM_IOEVENTFD_FLAG_DEASSIGN,
  KVM_IOEVENTFD_FLAG_PIO,
  KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  Kvm,
  type KvmArchOps,
  type KvmDevice,
  type KvmMemorySlot,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import type { FuzzOp, FuzzTarget, FuzzTargetFactory } from '../harness.ts';
import { fuzzU32, fuzzU64, type Rng } from '../rng.ts';

const PAGE = 4096;
/** Host memory behind the memslots. */
const RAM = 16 << 20;
/** Guest physical space the calls aim at: 64 MiB, so slots collide. */
const GPA_SPAN = 64 << 20;

function bitmapPrint(bm: Uint32Array | undefined): string {
  if (bm === undefined) return '-';
  let h = 0x811c9dc5;
  for (let i = 0; i < bm.length; i++) h = Math.imul(h ^ bm[i]!, 0x01000193);
  return `${bm.length}:${(h >>> 0).toString(16)}`;
}

/**
 * An IRQ bypass manager (virt/lib/irqbypass.c's matching): consumers and
 * producers by token, connected when both are present. EBUSY for a second
 * consumer or producer of one token.
 */
class BypassManager implements IrqBypassManager {
  readonly consumers = new Map<EventFd, IrqBypassConsumer>();
  readonly producers = new Map<EventFd, IrqBypassProducer>();

  registerConsumer(c: IrqBypassConsumer): void {
    if (this.consumers.has(c.token)) fail('EBUSY', 'token has a consumer');
    this.consumers.set(c.token, c);
    const p = this.producers.get(c.token);
    if (p !== undefined) c.addProducer(p);
  }

  unregisterConsumer(c: IrqBypassConsumer): void {
    if (this.consumers.get(c.token) !== c) return;
    const p = this.producers.get(c.token);
    if (p !== undefined) c.delProducer(p);
    this.consumers.delete(c.token);
  }

  registerProducer(p: IrqBypassProducer): void {
    if (this.producers.has(p.token)) fail('EBUSY', 'token has a producer');
    this.producers.set(p.token, p);
    this.consumers.get(p.token)?.addProducer(p);
  }

  unregisterProducer(p: IrqBypassProducer): void {
    if (this.producers.get(p.token) !== p) return;
    this.consumers.get(p.token)?.delProducer(p);
    this.producers.delete(p.token);
  }
}

/**
 * A fake architecture for the generic KVM: it refuses memslot changes or
 * vCPUs when told to, and counts the bypass connections and vCPUs it holds,
 * so a leak of either shows after teardown.
 */
class FuzzArch implements KvmArchOps {
  readonly name = 'fuzz';
  readonly maxVcpus = 4;
  readonly maxVcpuIds = 8;
  refusePrepare = false;
  refuseVcpu = false;
  /** "hostIrq:gsi" of every producer connected to an irqfd, with its count. */
  readonly connected = new Map<string, number>();
  vcpusAlive = 0;
  vmsAlive = 0;
  readonly irqs: number[] = [];

  vmInit(vm: KvmVm, type: number): void {
    if (type !== 0) fail('EINVAL', 'type 0 only');
    vm.arch = {};
    this.vmsAlive++;
  }
  vmDestroy(): void {
    this.vmsAlive--;
  }
  prepareMemoryRegion(): void {
    if (this.refusePrepare) fail('ENOMEM', 'arch refuses the memslot');
  }
  commitMemoryRegion(): void {}
  flushShadowMemslot(): void {}
  unmapGfnRange(): void {}
  flushShadowAll(): void {}
  enableLogDirtyPtMasked(_vm: KvmVm, slot: KvmMemorySlot, off: number, mask: bigint): void {
    // The generic code must only name pages inside the slot.
    if (mask !== 0n && off + (mask.toString(2).length - 1) >= slot.npages)
      throw new Error(`write-protect past slot ${slot.id}: offset ${off} mask ${mask.toString(16)}`);
  }
  vcpuCreate(): void {
    if (this.refuseVcpu) fail('ENOMEM', 'arch refuses the vcpu');
    this.vcpusAlive++;
  }
  vcpuDestroy(): void {
    this.vcpusAlive--;
  }
  vcpuRun(): void {}
  setIrq(_vm: KvmVm, gsi: number, level: number): void {
    if (level) this.irqs.push(gsi);
    if (this.irqs.length > 64) this.irqs.length = 0;
  }
  irqBypassAddProducer(_vm: KvmVm, hostIrq: number, gsi: number): void {
    const k = `${hostIrq}:${gsi}`;
    this.connected.set(k, (this.connected.get(k) ?? 0) + 1);
  }
  irqBypassDelProducer(_vm: KvmVm, hostIrq: number, gsi: number): void {
    const k = `${hostIrq}:${gsi}`;
    const n = (this.connected.get(k) ?? 0) - 1;
    if (n < 0) throw new Error(`bypass ${k} deleted more than added`);
    if (n === 0) this.connected.delete(k);
    else this.connected.set(k, n);
  }
}

type Fd =
  | { kind: 'vm'; vm: KvmVm }
  | { kind: 'vcpu'; vcpu: KvmVcpu }
  | { kind: 'device'; dev: KvmDevice }
  | { kind: 'eventfd'; efd: EventFd };

/**
 * The generic KVM with a fake arch: memslots created, moved, deleted and
 * re-flagged with random ids, addresses, sizes and flags; dirty logs got
 * and cleared over random ranges; irqfds and ioeventfds assigned and
 * de-assigned over eventfds that come and go (and fds that are not
 * eventfds); vCPUs and devices created; the owner's memory unmapped under
 * the slots; every fd closed in any order.
 */
class KvmCoreTarget implements FuzzTarget {
  readonly phys = new HostPhysMemory({ totalFrames: 1 << 12 });
  readonly mm = new MmStruct(this.phys);
  readonly files = new FdTable();
  readonly arch = new FuzzArch();
  readonly bypass = new BypassManager();
  readonly kvm = new Kvm({ arch: this.arch, files: this.files, mm: this.mm, irqBypass: this.bypass });
  readonly open = new Map<number, Fd>();
  readonly vms: KvmVm[] = [];
  readonly eventfds: EventFd[] = [];
  /** Fake device-interrupt producers (a VFIO device's MSI), by token. */
  readonly producers: IrqBypassProducer[] = [];
  nextHostIrq = 100;
  devicesAlive = 0;
  readonly ram: number;
  readonly ops: FuzzOp[];

  constructor(rng: Rng) {
    this.ram = this.mm.mmap({
      length: RAM,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    const self = this;
    const dev = (withRelease: boolean) => ({
      name: withRelease ? 'vfio-dev' : 'aia',
      create(d: KvmDevice) {
        // One per VM, as the in-kernel irqchip refuses a second.
        if (!withRelease && d.vm.devices.some((x) => x.type === d.type)) fail('EEXIST', 'one per VM');
        self.devicesAlive++;
      },
      destroy() {
        self.devicesAlive--;
      },
      ...(withRelease ? { release: () => void self.devicesAlive-- } : {}),
    });
    this.kvm.registerDeviceOps(KVM_DEV_TYPE_RISCV_AIA, dev(false));
    this.kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, dev(true));
    this.createVm();
    if (rng.chance(0.3)) this.createVm();
    this.ops = this.makeOps();
  }

  private createVm(): void {
    const vm = this.kvm.createVm();
    this.vms.push(vm);
    this.open.set(vm.fd, { kind: 'vm', vm });
  }

  private fdsOf(kind: Fd['kind']): number[] {
    return [...this.open].filter(([, f]) => f.kind === kind).map(([fd]) => fd);
  }

  private liveVm(r: Rng): KvmVm | undefined {
    const vms = this.fdsOf('vm');
    if (vms.length === 0) return undefined;
    return (this.open.get(r.pick(vms)) as { vm: KvmVm }).vm;
  }

  private efdArg(r: Rng): number {
    const e = this.fdsOf('eventfd');
    if (e.length > 0 && r.chance(0.85)) return r.pick(e);
    if (this.open.size > 0 && r.chance(0.7)) return r.pick([...this.open.keys()]);
    return r.pick([-1, 77, 0x7fff_ffff]);
  }

  private makeOps(): FuzzOp[] {
    const slotArg = (r: Rng, vm: KvmVm, logging = false) => {
      const logs = vm.memslots.list().filter((s) => s.dirtyBitmap !== undefined);
      if (logging && logs.length > 0 && r.chance(0.8)) return r.pick(logs).id;
      const ids = vm.memslots.list().map((s) => s.id);
      if (ids.length > 0 && r.chance(0.5)) return r.pick(ids);
      return fuzzU32(r, () => (r.chance(0.97) ? r.below(6) : r.pick([1 << 16, (1 << 16) | 1, 32763, 32764])));
    };
    return [
      {
        name: 'KVM_SET_USER_MEMORY_REGION',
        weight: 8,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const slot = slotArg(r, vm);
          const old = vm.memslots.get(slot);
          const flags = r.chance(0.97)
            ? r.pick([
                0,
                0,
                KVM_MEM_LOG_DIRTY_PAGES,
                KVM_MEM_READONLY,
                KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY,
              ])
            : r.pick([4, 1 << 31, -1]);
          const page = () => BigInt(r.below(GPA_SPAN / PAGE) * PAGE);
          const size = () => BigInt(r.pick([1, 2, 3, 64, 65, 512, 1024]) * PAGE);
          const hva = () => BigInt(this.ram + r.below(RAM / PAGE - 1024) * PAGE);
          if (old !== undefined && r.chance(0.6)) {
            // Change an existing slot: move it, flip its flags, delete it, or change what may not change.
            const k = r.below(6);
            vm.setUserMemoryRegion({
              slot,
              flags:
                k === 1
                  ? old.flags ^ KVM_MEM_LOG_DIRTY_PAGES
                  : k === 4
                    ? old.flags ^ KVM_MEM_READONLY
                    : old.flags,
              guest_phys_addr: k === 0 ? page() : BigInt(old.baseGfn * PAGE),
              memory_size: k === 2 ? 0n : k === 3 ? size() : BigInt(old.npages * PAGE),
              userspace_addr: k === 5 ? hva() : BigInt(old.userspaceAddr),
            });
            return;
          }
          vm.setUserMemoryRegion({
            slot,
            flags,
            guest_phys_addr: fuzzU64(r, page) as bigint,
            memory_size: fuzzU64(r, size) as bigint,
            userspace_addr: fuzzU64(r, hva) as bigint,
          });
        },
      },
      {
        name: 'KVM_GET_DIRTY_LOG',
        weight: 2,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const slot = slotArg(r, vm, true);
          const n = vm.memslots.get(slot)?.dirtyBitmapBytes ?? 8;
          vm.getDirtyLog({
            slot,
            dirty_bitmap: r.chance(0.3) ? undefined : new Uint8Array(r.chance(0.9) ? n : r.below(n)),
          });
        },
      },
      {
        name: 'KVM_CLEAR_DIRTY_LOG',
        weight: 2,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const slot = slotArg(r, vm, true);
          const np = vm.memslots.get(slot)?.npages ?? 64;
          const first = r.chance(0.9)
            ? BigInt(64 * r.below(Math.ceil(np / 64) + 1))
            : (fuzzU64(r, () => 1n) as bigint);
          const num = r.chance(0.8)
            ? r.pick([64, 128, Math.max(0, np - Number(first)), np, 0])
            : fuzzU32(r, () => 65);
          const bytes = Math.ceil(Math.max(0, Math.min(num, 1 << 16)) / 64) * 8;
          const bm = new Uint8Array(r.chance(0.9) ? bytes : r.below(bytes + 1));
          for (let i = 0; i < bm.length; i++) bm[i] = r.chance(0.5) ? 0xff : r.below(256);
          vm.clearDirtyLog({ slot, first_page: first, num_pages: num, dirty_bitmap: bm });
        },
      },
      {
        name: 'guest writes (mark_page_dirty)',
        weight: 2,
        run: (r) => {
          const vm = this.liveVm(r);
          const slots = vm?.memslots.list() ?? [];
          if (slots.length === 0) return;
          const s = r.pick(slots);
          for (let i = 0; i < r.int(1, 8); i++) vm!.markPageDirty(s.baseGfn + r.below(s.npages));
        },
      },
      {
        name: 'KVM_ENABLE_CAP',
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          vm.enableCap({
            cap: r.chance(0.9) ? KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 : r.below(300),
            flags: r.chance(0.95) ? 0 : 1,
            args: [BigInt(r.pick([0, 1, 3, 2, 4, 7]))],
          });
        },
      },
      {
        name: 'KVM_IRQFD',
        weight: 4,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const flags = r.chance(0.95)
            ? r.pick([
                0,
                0,
                KVM_IRQFD_FLAG_DEASSIGN,
                KVM_IRQFD_FLAG_RESAMPLE,
                KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE,
              ])
            : r.pick([4, 1 << 31]);
          vm.irqfd({
            fd: this.efdArg(r),
            gsi: r.below(4),
            flags,
            resamplefd: r.chance(0.5) ? this.efdArg(r) : undefined,
          });
        },
      },
      {
        name: 'KVM_IOEVENTFD',
        weight: 4,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          let flags = r.chance(0.5) ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0;
          if (r.chance(0.3)) flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
          if (r.chance(0.1))
            flags |= r.pick([KVM_IOEVENTFD_FLAG_PIO, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 1 << 4]);
          const addr = fuzzU64(r, () => BigInt(0x1000_0000 + r.below(4) * 8));
          vm.ioeventfd({
            datamatch: BigInt(r.pick([0, 1, 0xff, 0x1_0000_0000])),
            addr: addr as bigint,
            len: r.chance(0.95) ? r.pick([0, 1, 2, 4, 8]) : r.pick([3, 16, -1]),
            fd: this.efdArg(r),
            flags,
          });
        },
      },
      {
        name: 'guest MMIO write (ioeventfd)',
        weight: 2,
        run: (r) => {
          const vm = this.liveVm(r);
          const v = vm?.vcpus[0];
          if (v === undefined) return;
          const len = r.pick([1, 2, 4, 8]);
          const data = new Uint8Array(len);
          data[0] = r.pick([0, 1, 0xff]);
          v.emulateMmio(0x1000_0000 + r.below(4) * 8, data, true);
        },
      },
      {
        name: 'eventfd / signal',
        weight: 3,
        run: (r) => {
          const e = this.fdsOf('eventfd');
          if (e.length > 0 && r.chance(0.6)) {
            (this.open.get(r.pick(e)) as { efd: EventFd }).efd.write(1n);
            return;
          }
          const efd = new EventFd();
          this.eventfds.push(efd);
          this.open.set(this.files.install(efd), { kind: 'eventfd', efd });
        },
      },
      {
        name: 'bypass producer (a device interrupt) come/go',
        run: (r) => {
          if (this.producers.length > 0 && r.chance(0.4)) {
            const p = this.producers.splice(r.below(this.producers.length), 1)[0]!;
            this.bypass.unregisterProducer(p);
            return;
          }
          const e = this.fdsOf('eventfd');
          if (e.length === 0) return;
          const token = (this.open.get(r.pick(e)) as { efd: EventFd }).efd;
          const p: IrqBypassProducer = { token, irq: this.nextHostIrq++ };
          this.bypass.registerProducer(p);
          this.producers.push(p);
        },
      },
      {
        name: 'KVM_CREATE_VCPU',
        weight: 2,
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const vcpu = vm.createVcpu(fuzzU32(r, () => r.below(9)));
          this.open.set(vcpu.fd, { kind: 'vcpu', vcpu });
        },
      },
      {
        name: 'KVM_CREATE_DEVICE',
        run: (r) => {
          const vm = this.liveVm(r);
          if (vm === undefined) return;
          const cd = {
            type: r.chance(0.9) ? r.pick([KVM_DEV_TYPE_RISCV_AIA, KVM_DEV_TYPE_VFIO]) : fuzzU32(r, () => 3),
            fd: -1,
            flags: r.chance(0.8) ? 0 : 1,
          };
          const dev = vm.createDevice(cd);
          if (dev !== undefined) this.open.set(dev.fd, { kind: 'device', dev });
        },
      },
      {
        name: 'KVM_IRQ_LINE',
        run: (r) => this.liveVm(r)?.irqLine({ irq: r.below(8), level: r.below(2) }),
      },
      {
        name: 'close fd',
        weight: 2,
        run: (r) => {
          const fd = this.open.size > 0 && r.chance(0.95) ? r.pick([...this.open.keys()]) : r.int(-1, 60);
          this.files.close(fd);
          this.open.delete(fd);
        },
      },
      {
        name: 'KVM_CREATE_VM',
        weight: 0.3,
        run: () => this.createVm(),
      },
      {
        name: 'host munmap/mprotect/mmap (MMU notifier)',
        run: (r) => {
          const at = this.ram + r.below(RAM / PAGE) * PAGE;
          const len = r.pick([1, 2, 64]) * PAGE;
          const k = r.below(3);
          if (k === 0) this.mm.munmap(at, len);
          else if (k === 1) this.mm.mprotect(at, len, r.pick([PROT_READ, PROT_READ | PROT_WRITE]));
          else
            this.mm.mmap({
              addr: at,
              length: len,
              prot: PROT_READ | PROT_WRITE,
              flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            });
        },
      },
      {
        name: 'arch mood',
        weight: 0.5,
        run: (r) => {
          this.arch.refusePrepare = r.chance(0.15);
          this.arch.refuseVcpu = r.chance(0.15);
        },
      },
    ];
  }

  snapshot(): string {
    const lines = [
      `fds ${[...this.open].map(([fd, f]) => `${fd}:${f.kind}`).join(',')} table ${this.files.openCount}`,
      `vms ${this.kvm.vms.length} arch vms ${this.arch.vmsAlive} vcpus ${this.arch.vcpusAlive} devices ${this.devicesAlive}`,
      `bypass consumers ${this.bypass.consumers.size} producers ${this.bypass.producers.size} connected ${[...this.arch.connected].join(',')}`,
      `eventfds ${this.eventfds.map((e) => `${e.id}:${e.value}:${e.listenerCount}:${e.closed}`).join(' ')}`,
      `mm ${this.mm.vmaList.map((v) => `${v.start}-${v.end}:${v.flags}`).join(' ')}`,
    ];
    for (const vm of this.vms) {
      lines.push(
        `vm ${vm.fd} dead ${vm.dead} refs ${vm.refcount} pages ${vm.nrMemslotPages} manual ${vm.manualDirtyLogProtect} gen ${vm.memslots.generation} vcpus ${vm.vcpus.map((v) => v.vcpuId).join(',')} devices ${vm.devices.length}`,
      );
      for (const s of vm.allMemslots())
        lines.push(
          `  slot ${s.asId}:${s.id} ${s.baseGfn}+${s.npages} hva ${s.userspaceAddr} flags ${s.flags} invalid ${s.invalid} bitmap ${bitmapPrint(s.dirtyBitmap)}`,
        );
      lines.push(
        `  irqfds ${vm.irqfds.map((i) => `${i.eventfd.id}:${i.gsi}:${i.bypassRegistered}:${i.producer?.irq}`).join(',')}`,
      );
      for (const bus of [vm.mmioBus, vm.pioBus, vm.ccwBus])
        lines.push(
          `  ${bus.name} ${bus
            .allIoeventfds()
            .map((p) => `${p.addr}/${p.length}/${p.eventfd.id}/${p.datamatch}`)
            .sort()
            .join(',')}`,
        );
    }
    return lines.join('\n');
  }

  invariants(): string[] {
    const out: string[] = [];
    const listeners = new Map<EventFd, number>();
    for (const vm of this.vms) {
      const fdOpen = this.open.get(vm.fd)?.kind === 'vm' && (this.open.get(vm.fd) as { vm: KvmVm }).vm === vm;
      const holders =
        [...this.open.values()].filter(
          (f) => (f.kind === 'vcpu' && f.vcpu.vm === vm) || (f.kind === 'device' && f.dev.vm === vm),
        ).length + (fdOpen ? 1 : 0);
      if (!vm.dead && vm.refcount !== holders)
        out.push(`vm ${vm.fd}: refcount ${vm.refcount}, ${holders} fds hold it`);
      if (vm.dead !== (holders === 0)) out.push(`vm ${vm.fd}: dead ${vm.dead} with ${holders} holders`);
      if (!fdOpen && vm.irqfds.length > 0) out.push(`vm ${vm.fd}: fd closed but ${vm.irqfds.length} irqfds`);
      let pages = 0;
      const slots = vm.allMemslots();
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        pages += s.npages;
        if (s.invalid) out.push(`slot ${s.id} left invalid`);
        if ((s.dirtyBitmap !== undefined) !== ((s.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0))
          out.push(`slot ${s.id}: bitmap ${s.dirtyBitmap !== undefined} flags ${s.flags}`);
        const bm = s.dirtyBitmap;
        if (bm !== undefined) {
          if (bm.length * 32 < s.npages) out.push(`slot ${s.id}: bitmap too small`);
          for (let b = s.npages; b < bm.length * 32; b++)
            if (bm[b >>> 5]! & (1 << (b & 31))) {
              out.push(`slot ${s.id}: dirty bit ${b} past npages ${s.npages}`);
              break;
            }
        }
        const next = slots[i + 1];
        if (next !== undefined && next.asId === s.asId && next.baseGfn < s.endGfn)
          out.push(`slots ${s.id} and ${next.id} overlap`);
        if (s.npages <= 0) out.push(`slot ${s.id}: ${s.npages} pages`);
      }
      if (pages !== vm.nrMemslotPages)
        out.push(`vm ${vm.fd}: nr_memslot_pages ${vm.nrMemslotPages}, slots have ${pages}`);
      const tokens = new Set<EventFd>();
      for (const i of vm.irqfds) {
        if (tokens.has(i.eventfd)) out.push(`eventfd ${i.eventfd.id} drives two irqfds`);
        tokens.add(i.eventfd);
        if (i.eventfd.closed) out.push(`irqfd on closed eventfd ${i.eventfd.id}`);
        listeners.set(i.eventfd, (listeners.get(i.eventfd) ?? 0) + 1);
        if (i.bypassRegistered !== (this.bypass.consumers.get(i.eventfd) === i))
          out.push(`irqfd ${i.eventfd.id}: bypassRegistered ${i.bypassRegistered}`);
        const p = this.bypass.producers.get(i.eventfd);
        if (i.bypassRegistered && i.producer !== p) out.push(`irqfd ${i.eventfd.id}: producer not connected`);
      }
    }
    for (const e of this.eventfds) {
      const want = listeners.get(e) ?? 0;
      if (e.listenerCount !== want) out.push(`eventfd ${e.id}: ${e.listenerCount} listeners, ${want} irqfds`);
    }
    for (const c of this.bypass.consumers.values()) {
      if (!this.vms.some((vm) => vm.irqfds.includes(c as never)))
        out.push(`bypass consumer ${c.token.id} without an irqfd`);
    }
    let connected = 0;
    for (const n of this.arch.connected.values()) connected += n;
    const withProducer = this.vms.reduce(
      (n, vm) => n + vm.irqfds.filter((i) => i.producer !== undefined).length,
      0,
    );
    if (connected !== withProducer)
      out.push(`arch has ${connected} bypass connections, irqfds ${withProducer}`);
    const vcpus = this.vms.reduce((n, vm) => n + vm.vcpus.length, 0);
    if (vcpus !== this.arch.vcpusAlive) out.push(`arch holds ${this.arch.vcpusAlive} vcpus, VMs ${vcpus}`);
    if (this.kvm.vms.length !== this.arch.vmsAlive)
      out.push(`arch holds ${this.arch.vmsAlive} VMs, kvm ${this.kvm.vms.length}`);
    return out;
  }

  teardown(rng: Rng): void {
    for (const fd of rng.shuffle([...this.open.keys()])) {
      this.files.close(fd);
      this.open.delete(fd);
      if (rng.chance(0.1) && this.producers.length > 0) this.bypass.unregisterProducer(this.producers.pop()!);
    }
    for (const p of rng.shuffle(this.producers)) this.bypass.unregisterProducer(p);
    this.producers.length = 0;
    this.mm.exitMmap();
  }

  leaks(): string[] {
    const out: string[] = [];
    if (this.kvm.vms.length !== 0) out.push(`${this.kvm.vms.length} VMs alive`);
    if (this.arch.vmsAlive !== 0) out.push(`${this.arch.vmsAlive} VMs never destroyed by the arch`);
    if (this.arch.vcpusAlive !== 0) out.push(`${this.arch.vcpusAlive} vcpus never destroyed`);
    if (this.devicesAlive !== 0) out.push(`${this.devicesAlive} devices never destroyed`);
    for (const e of this.eventfds)
      if (e.listenerCount !== 0) out.push(`eventfd ${e.id}: ${e.listenerCount} listeners`);
    if (this.bypass.consumers.size !== 0)
      out.push(`${this.bypass.consumers.size} bypass consumers registered`);
    if (this.arch.connected.size !== 0)
      out.push(`bypass connections ${[...this.arch.connected.keys()].join(',')}`);
    for (const vm of this.vms) {
      if (!vm.dead) out.push(`vm ${vm.fd} not dead`);
      const n = vm.allMemslots().length;
      if (n !== 0 || vm.nrMemslotPages !== 0)
        out.push(`vm ${vm.fd}: ${n} memslots, ${vm.nrMemslotPages} pages`);
      if (vm.irqfds.length !== 0) out.push(`vm ${vm.fd}: ${vm.irqfds.length} irqfds`);
      const io = vm.mmioBus.ioeventfdCount + vm.pioBus.ioeventfdCount + vm.ccwBus.ioeventfdCount;
      if (io !== 0) out.push(`vm ${vm.fd}: ${io} ioeventfds`);
      if (vm.vcpus.length !== 0 || vm.devices.length !== 0) out.push(`vm ${vm.fd}: vcpus/devices left`);
    }
    if (this.files.openCount !== 0) out.push(`${this.files.openCount} fds open`);
    if (this.phys.allocatedFrames !== 0) out.push(`${this.phys.allocatedFrames} frames allocated`);
    return out;
  }
}

export const kvmCoreFuzz: FuzzTargetFactory = {
  name: 'kvm-core',
  create: (rng) => new KvmCoreTarget(rng),
};
