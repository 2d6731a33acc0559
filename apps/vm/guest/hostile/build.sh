#!/usr/bin/env bash
# Rebuilds the hostile guests (issue 13) from their C sources with the
# default guest's start.S and link.ld, using Debian's cross compiler
# (apt-get install gcc-riscv64-linux-gnu). The built binaries are
# committed, so the tests never need the compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CC=${CC:-riscv64-linux-gnu-gcc}
OBJCOPY=${OBJCOPY:-riscv64-linux-gnu-objcopy}
flags=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-pic -fno-pie -no-pie -nostdlib -static
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin -Wall -Wextra -Werror -T ../default/link.ld
  -Wl,--build-id=none -Wl,--no-warn-rwx-segments)
build() { # build <name> <source> [cflags...]
  local name=$1 src=$2
  shift 2
  "$CC" "${flags[@]}" "$@" -o "$name.elf" ../default/start.S lib.c "$src"
  "$OBJCOPY" -O binary "$name.elf" "$name.bin"
  rm -f "$name.elf"
  echo "built $(wc -c < "$name.bin") bytes: $name.bin"
}
for guest in bars cfgspace dma plic sbi spin wfi selfmod trapstorm; do
  build "$guest" "$guest.c"
done
# One binary per fault (faults.c).
faults=(illegal jump fp-mmio amo-mmio misaligned)
for i in "${!faults[@]}"; do
  build "fault-${faults[$i]}" faults.c -DFAULT=$((i + 1))
done
