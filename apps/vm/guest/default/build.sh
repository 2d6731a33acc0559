#!/usr/bin/env bash
# Rebuilds default.bin from main.c and start.S with Debian's cross compiler
# (apt-get install gcc-riscv64-linux-gnu). The built binary is committed, so
# running the VM never needs the compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CC=${CC:-riscv64-linux-gnu-gcc}
OBJCOPY=${OBJCOPY:-riscv64-linux-gnu-objcopy}
flags=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding -fno-pic -fno-pie -no-pie -nostdlib -static
  -fno-stack-protector -fno-asynchronous-unwind-tables -Wall -Wextra -Werror -T link.ld -Wl,--build-id=none)
"$CC" "${flags[@]}" -o default.elf start.S main.c
"$OBJCOPY" -O binary default.elf default.bin
# The interrupt benchmark (apps/vm/bench): the same guest, then IRQBENCH fences each waited for by its interrupt.
"$CC" "${flags[@]}" -DIRQBENCH=2000 -o irqbench.elf start.S main.c
"$OBJCOPY" -O binary irqbench.elf irqbench.bin
rm -f default.elf irqbench.elf
echo "built $(wc -c < default.bin) bytes: default.bin, $(wc -c < irqbench.bin) bytes: irqbench.bin"
