#!/bin/bash
# Record QEMU's output of every guest program into test/support/expected/
# (the text after the start marker), as test/qemu-diff.test.ts compares it.
set -euo pipefail
cd "$(dirname "$0")"
for bin in bin/*.bin; do
  name=$(basename "$bin" .bin)
  cpu=cortex-a57
  [ "$name" = atomics ] && cpu=cortex-a76
  timeout 60 qemu-system-aarch64 -M virt -cpu $cpu -m 128M -nographic -kernel "$bin" \
    | tr -d '\r' | sed -n '/^--- start ---$/,$p' | tail -n +2 > "../test/support/expected/$name.txt"
done
