#!/usr/bin/env bash
# Rebuild timer.bin from timer.S (needs Debian's gcc-aarch64-linux-gnu).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
aarch64-linux-gnu-gcc -nostdlib -static -Wl,-Ttext=0 -Wl,--build-id=none -o timer.elf timer.S
aarch64-linux-gnu-objcopy -O binary timer.elf timer.bin
rm timer.elf
