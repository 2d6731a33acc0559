import { defineProject } from 'vitest/config';
import { fromSource } from '../../vitest.source.ts';

// The hart's block tests again with the WebAssembly tier: test memory in a
// wasm arena given to the harts (test/support/tier.ts).
export default defineProject({
  ...fromSource,
  test: {
    ...fromSource.test,
    name: 'riscv-hart-wasm',
    include: [
      'test/jit.test.ts',
      'test/block-pc.test.ts',
      'test/qemu-diff.test.ts',
      'test/alu-fuzz.test.ts',
      'test/rv64i.test.ts',
      'test/m.test.ts',
      'test/rvc.test.ts',
      'test/tlb.test.ts',
      'test/mmu.test.ts',
      'test/atomic.test.ts',
      'test/csr-fast.test.ts',
      'test/trap-storm.test.ts',
      'test/pause.test.ts',
      'test/hlv.test.ts',
      'test/priv.test.ts',
      'test/snapshot.test.ts',
      'test/qemu-mini-vmm.test.ts',
    ],
    env: { TSVIRT_HART_TIER: 'wasm' },
  },
});
