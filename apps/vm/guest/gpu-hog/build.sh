#!/usr/bin/env bash
# Rebuilds gpu-hog.bin from main.c with the default guest's start.S and
# link.ld, using Debian's cross compiler (apt-get install gcc-riscv64-linux-gnu).
# The built binary is committed, so the tests never need the compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CC=${CC:-riscv64-linux-gnu-gcc}
OBJCOPY=${OBJCOPY:-riscv64-linux-gnu-objcopy}
flags=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-pic -fno-pie -no-pie -nostdlib -static
  -fno-stack-protector -fno-asynchronous-unwind-tables -Wall -Wextra -Werror -T ../default/link.ld -Wl,--build-id=none)
"$CC" "${flags[@]}" -o gpu-hog.elf ../default/start.S main.c
"$OBJCOPY" -O binary gpu-hog.elf gpu-hog.bin
rm -f gpu-hog.elf
echo "built $(wc -c < gpu-hog.bin) bytes: gpu-hog.bin"
