#!/usr/bin/env bash
# Installs the Debian packages the test suite checks against: dtc (DTB
# validation), qemu-system-riscv64 (the reference CPU), U-Boot and OpenSBI
# (real firmware), chromium (apps/web's browser test) and qemu-system-aarch64
# (arm64-core's reference CPU). Needs root (or sudo). When it cannot install, it says what
# is missing; the tests that need a tool then fail with that name in CI.
set -uo pipefail
need=()
command -v dtc >/dev/null 2>&1 || need+=(device-tree-compiler)
command -v qemu-system-riscv64 >/dev/null 2>&1 || need+=(qemu-system-misc)
[ -f /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin ] || need+=(u-boot-qemu)
[ -d /usr/lib/riscv64-linux-gnu/opensbi ] || need+=(opensbi)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v qemu-system-aarch64 >/dev/null 2>&1 || need+=(qemu-system-arm)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "debian-deps: not root, cannot install: ${need[*]}" >&2
    exit 0
  fi
fi
echo "debian-deps: apt-get install ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || true
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 \
  || echo "debian-deps: apt-get failed for: ${need[*]}" >&2
exit 0
