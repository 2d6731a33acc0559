import { describe, expect, it } from 'vitest';
import { afterMarker, expected, runGuest } from './guests.ts';

// riscv-hart's bare-metal guests print through SBI and end with SRST; their
// output under QEMU + OpenSBI is recorded in riscv-hart's test/support/expected.
// On this KVM they must print exactly the same.
describe("riscv-hart's guests on KVM print what they print under QEMU", () => {
  for (const [name, harts] of [
    ['int', 1],
    ['compressed', 1],
    ['atomics', 1],
    ['traps', 1],
    ['paging', 1],
    ['irq', 1],
    ['smp', 2],
  ] as const) {
    it(`${name} (${harts} hart${harts > 1 ? 's' : ''}, legacy console)`, () => {
      const r = runGuest(name, { harts });
      expect(r.reason).toBe(0n); // SRST with no failure reason
      expect(afterMarker(r.console)).toBe(expected(name));
    });
  }

  it('smp with DBCN enabled through KVM_REG_RISCV_SBI_EXT prints the same', () => {
    const r = runGuest('smp', { harts: 2, dbcn: true });
    const legacy = runGuest('smp', { harts: 2 });
    expect(r.reason).toBe(0n);
    // DBCN writes whole strings: far fewer KVM_EXIT_RISCV_SBI (35) exits than putchar.
    expect(r.exits[35]!).toBeLessThan(legacy.exits[35]! / 4);
    expect(afterMarker(r.console)).toBe(expected('smp'));
  });
});
