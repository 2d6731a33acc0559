// The VMM entry point. The board's devices exist (UART, PLIC, device tree);
// the CPU and KVM layers they attach to are still being built, so there is
// no guest to boot yet: say so plainly instead of pretending.
console.error(
  'tsvirt vm: the virtual machine cannot boot yet: the board devices are here, but the CPU and KVM packages it runs on are not finished. Run the test suite with: bash scripts/test.sh',
);
process.exit(2);
