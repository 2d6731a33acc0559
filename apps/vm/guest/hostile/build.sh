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
for guest in ${GUESTS:-bars cfgspace dma plic sbi}; do
  "$CC" "${flags[@]}" -o "$guest.elf" ../default/start.S lib.c "$guest.c"
  "$OBJCOPY" -O binary "$guest.elf" "$guest.bin"
  rm -f "$guest.elf"
  echo "built $(wc -c < "$guest.bin") bytes: $guest.bin"
done
