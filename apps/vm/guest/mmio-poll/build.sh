#!/usr/bin/env bash
# Rebuilds poll.bin from poll.S with Debian's cross binutils
# (apt-get install binutils-riscv64-linux-gnu). The built binary is
# committed, so the bench never needs the assembler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
AS=${AS:-riscv64-linux-gnu-as}
LD=${LD:-riscv64-linux-gnu-ld}
OBJCOPY=${OBJCOPY:-riscv64-linux-gnu-objcopy}
"$AS" -march=rv64gc -mabi=lp64d -o poll.o poll.S
"$LD" -Ttext=0x80200000 --build-id=none -o poll.elf poll.o
"$OBJCOPY" -O binary poll.elf poll.bin
rm -f poll.o poll.elf
echo "built $(wc -c < poll.bin) bytes: poll.bin"
