import { riscvVcpu } from '@tsvirt/kvm-riscv';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

// --irqchip aia: KVM's APLIC + IMSIC. The default guest finds "riscv,imsics"
// in its device tree, points the GPU's MSI at its IMSIC page, and its DMA
// completions reach it through the kvm-vfio bypass: vfio-mpci's MSI producer
// meets the VMM's irqfd in the IRQ bypass manager, and KVM posts each one
// straight into the vCPU's guest interrupt file. The VMM relays none.

describe('--irqchip aia', () => {
  it('the default guest gets its GPU completions through the bypass, none relayed by the VMM', async () => {
    const { result, output, machine } = await boot(['--irqchip', 'aia', '--cpus', '2']);
    expect(output).not.toContain('FAIL');
    expect(result.status).toBe(0);
    expect(output).toContain('interrupts: IMSIC, gpu MSI -> identity 3');
    expect(output).toContain('dma complete: fence irq received, copy verified');
    expect(output).toContain('all 2 harts reported');
    expect(result.stats.irqRelayed).toBe(0);
    expect(result.stats.irqBypassed).toBeGreaterThanOrEqual(2);
    expect(machine.aia).toBeDefined();
    // The vCPU's IMSIC is the hart's guest interrupt file (hstatus.VGEIN), not a software one.
    expect(riscvVcpu(machine.vcpus[0]!).aia.hardware).toBe(true);
  }, 120_000);

  it('the default (--irqchip plic) relays the same completions through the VMM and bypasses none', async () => {
    const { result, output } = await boot(['--cpus', '1']);
    expect(result.status).toBe(0);
    expect(output).toContain('interrupts: PLIC, gpu INTx');
    expect(result.stats.irqRelayed).toBeGreaterThanOrEqual(2);
    expect(result.stats.irqBypassed).toBe(0);
  }, 120_000);
});
