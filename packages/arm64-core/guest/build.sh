#!/bin/bash
# Build every guest program into guest/bin/ (or $OUT): flat images linked at 0x40080000.
# Reproducible: no debug info, no build id, fixed prefix map.
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-bin}
CC=${CC:-aarch64-linux-gnu-gcc}
CFLAGS="-O2 -ffreestanding -nostdlib -nostartfiles -fno-pic -mgeneral-regs-only -mstrict-align -fno-stack-protector -fno-asynchronous-unwind-tables -ffile-prefix-map=$PWD=. -Wall -Werror"
mkdir -p "$OUT"
for prog in hello int atomics traps mmu simd; do
  [ -f "$prog.c" ] || continue
  extra=""
  [ -f "$prog-asm.S" ] && extra="$prog-asm.S"
  $CC $CFLAGS -march=armv8.1-a+crc -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,link.ld -Wl,-n -o "$OUT/$prog.elf" start.S rt.c "$prog.c" $extra -lgcc
  aarch64-linux-gnu-objcopy -O binary "$OUT/$prog.elf" "$OUT/$prog.bin"
  rm "$OUT/$prog.elf"
done
$CC --version | head -1 > "$OUT/COMPILER"
