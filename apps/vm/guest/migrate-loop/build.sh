#!/usr/bin/env bash
# Rebuilds migrate-loop.bin from main.c with the default guest's start.S and
# link.ld and the hostile guests' lib.c, using Debian's cross compiler
# (apt-get install gcc-riscv64-linux-gnu). The built binary is committed, so
# the tests never need the compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CC=${CC:-riscv64-linux-gnu-gcc}
OBJCOPY=${OBJCOPY:-riscv64-linux-gnu-objcopy}
flags=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-pic -fno-pie -no-pie -nostdlib -static
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin -Wall -Wextra -Werror -T ../default/link.ld
  -Wl,--build-id=none -Wl,--no-warn-rwx-segments)
"$CC" "${flags[@]}" -o migrate-loop.elf ../default/start.S ../hostile/lib.c main.c
"$OBJCOPY" -O binary migrate-loop.elf migrate-loop.bin
rm -f migrate-loop.elf
echo "built $(wc -c < migrate-loop.bin) bytes: migrate-loop.bin"
