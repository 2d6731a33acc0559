import { runSuite } from '@tsvirt/bench-harness';
import { EventFd, FdTable } from '@tsvirt/core-bus';
import { KVM_IRQ_LINE, Kvm, type KvmArchOps, type KvmVm } from '@tsvirt/kvm-core';
import { EventfdIrqProducer, IrqBypass } from '../src/index.ts';

// Interrupts from a device's trigger eventfd to a vCPU's pending state
// (an hvip-like word the arch's setIrq writes), 10,000 per iteration:
//  - VMM relay: the eventfd is signalled; the VMM's event loop reads it and
//    issues KVM_IRQ_LINE high then low (what a VMM without irqfd does);
//  - irqfd: KVM's irqfd wakes on the eventfd and injects in the kernel;
//  - bypass: the producer is connected to the irqfd consumer, so the
//    interrupt goes straight to the injection, no eventfd round trip.
const PER_ITER = 10_000;
const GSI = 5;

function setup(mode: 'relay' | 'irqfd' | 'bypass') {
  const pending = new Uint32Array(1);
  let delivered = 0;
  const arch: KvmArchOps = {
    name: 'bench',
    vmInit() {},
    vmDestroy() {},
    prepareMemoryRegion() {},
    commitMemoryRegion() {},
    flushShadowMemslot() {},
    enableLogDirtyPtMasked() {},
    vcpuCreate() {},
    vcpuDestroy() {},
    vcpuRun() {},
    setIrq(_vm, gsi, level) {
      if (level) {
        pending[0]! |= 1 << gsi;
        delivered++;
      }
    },
    irqBypassAddProducer() {},
    irqBypassDelProducer() {},
  };
  const files = new FdTable();
  const mgr = new IrqBypass();
  const kvm = new Kvm({ arch, files, irqBypass: mode === 'bypass' ? mgr : undefined });
  const vm: KvmVm = kvm.createVm();
  const ev = new EventFd();
  const efd = files.install(ev);
  const producer = new EventfdIrqProducer(ev, 1024);
  mgr.registerProducer(producer);
  const line = { irq: GSI, level: 0 };
  if (mode === 'relay') {
    // The VMM's event loop: one epoll wakeup per signal, read, then KVM_IRQ_LINE.
    ev.listen((e) => {
      if (e.value === 0n) return;
      e.read();
      line.level = 1;
      vm.ioctl(KVM_IRQ_LINE, line);
      line.level = 0;
      vm.ioctl(KVM_IRQ_LINE, line);
    });
  } else {
    vm.irqfd({ fd: efd, gsi: GSI, flags: 0 });
  }
  if ((mode === 'bypass') !== producer.connected) throw new Error(`bench: ${mode} wiring is wrong`);
  return {
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) {
        producer.fire();
        // the vCPU takes the interrupt
        pending[0] = 0;
      }
    },
    check: () => {
      if (delivered === 0 || delivered % PER_ITER !== 0) throw new Error(`bench: ${mode} lost interrupts`);
      files.closeAll();
    },
  };
}

const cases = (['relay', 'irqfd', 'bypass'] as const).map((mode) => {
  const s = setup(mode);
  return {
    name:
      mode === 'relay'
        ? 'VMM relay (eventfd -> read -> KVM_IRQ_LINE)'
        : mode === 'irqfd'
          ? 'irqfd, no bypass (eventfd wakeup -> inject)'
          : 'IRQ bypass (producer -> irqfd consumer)',
    fn: s.fn,
    teardown: s.check,
    work: { count: PER_ITER, unit: 'irqs' },
    ...(mode === 'relay' ? {} : { baseline: 'VMM relay (eventfd -> read -> KVM_IRQ_LINE)' }),
  };
});

await runSuite('kvm-vfio: device interrupt -> vCPU pending state', cases);
