#!/usr/bin/env bash
# Rebuilds every bare-metal guest program in guest/ into guest/bin/<name>.bin
# with Debian's cross compiler (apt-get install gcc-riscv64-linux-gnu).
# Each program is guest/<name>.c plus an optional guest/<name>-asm.S, linked
# with the shared runtime (start.S, rt.c) at 0x80200000.
# Usage: scripts/build-guests.sh [name...]   (OUT=<dir> to build elsewhere)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
g="$here/guest"
CROSS="${CROSS:-riscv64-linux-gnu-}"
CC="${CROSS}gcc"
OBJCOPY="${CROSS}objcopy"
command -v "$CC" >/dev/null || {
  echo "$CC missing: apt-get install gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu" >&2
  exit 1
}
CFLAGS=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -g0 -Wall -Wextra -Werror
  -nostdlib -ffreestanding -fno-builtin -fno-pie -no-pie -static
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -mno-relax
  -ffile-prefix-map="$g"=guest)
LDFLAGS=(-Wl,-T,"$g/link.ld" -Wl,--build-id=none -Wl,--no-relax -Wl,--no-warn-rwx-segments)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="${OUT:-$g/bin}"
mkdir -p "$out"
progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
  progs=(int compressed atomics fp traps paging irq smp random)
fi
# The compiler that built the committed images: the byte-for-byte rebuild
# test only compares when the local compiler is the same.
"$CC" --version | head -n 1 >"$out/COMPILER"
for p in "${progs[@]}"; do
  srcs=("$g/start.S" "$g/rt.c" "$g/$p.c")
  [ -f "$g/$p-asm.S" ] && srcs+=("$g/$p-asm.S")
  "$CC" "${CFLAGS[@]}" "${srcs[@]}" "${LDFLAGS[@]}" -lgcc -o "$tmp/$p.elf"
  "$OBJCOPY" -O binary "$tmp/$p.elf" "$out/$p.bin"
  echo "built $out/$p.bin ($(wc -c <"$out/$p.bin") bytes)"
done
