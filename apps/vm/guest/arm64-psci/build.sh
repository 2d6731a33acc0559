#!/usr/bin/env bash
# Rebuild psci.bin from psci.S (needs Debian's gcc-aarch64-linux-gnu).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
aarch64-linux-gnu-gcc -nostdlib -static -Wl,-Ttext=0 -Wl,--build-id=none -o psci.elf psci.S
aarch64-linux-gnu-objcopy -O binary psci.elf psci.bin
rm psci.elf
