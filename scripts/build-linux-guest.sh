#!/usr/bin/env bash
# Builds the Linux guest from Debian's linux-source-6.12: a kernel `Image`
# configured from `make tinyconfig` plus apps/vm/guest/linux/tsvirt.config,
# and an initramfs holding our own init (apps/vm/guest/linux/init.c, built
# with the kernel's nolibc). Nothing built is committed: both are cached in
#   ${TSVIRT_CACHE:-$HOME/.cache/tsvirt}/linux-<package version>-<inputs hash>/
# and a second run only prints their paths. Installs what it needs with
# apt-get when it runs as root (or with sudo). The last two lines on stdout
# are `TSVIRT_LINUX_IMAGE=<path>` and `TSVIRT_LINUX_INITRD=<path>`; progress
# goes to stderr. TSVIRT_JOBS sets make's -j (default 2).
# `--check` builds nothing: it prints the paths if this tree's guest is
# already built and exits 3 otherwise (the Linux test uses it).
set -euo pipefail
# The whole script is one compound command, so bash reads all of it before
# running any: editing the file during a (long) build cannot derail it.
{
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
guest="$root/apps/vm/guest/linux"
pkg=linux-source-6.12
tarball=/usr/src/linux-source-6.12.tar.xz
cross=riscv64-linux-gnu-
jobs="${TSVIRT_JOBS:-2}"
log() { echo "build-linux-guest: $*" >&2; }
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*)
  log "usage: $0 [--check]"
  exit 2
  ;;
esac
if [ "$check" = 1 ] && ! dpkg-query -W "$pkg" >/dev/null 2>&1; then
  log "not built: $pkg is not installed (bash scripts/build-linux-guest.sh installs it and builds the guest)"
  exit 3
fi

# --- Debian packages ------------------------------------------------------
need=()
[ -f "$tarball" ] || need+=("$pkg")
command -v "${cross}gcc" >/dev/null 2>&1 || need+=(gcc-riscv64-linux-gnu)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || need+=(make)
command -v flex >/dev/null 2>&1 || need+=(flex)
command -v bison >/dev/null 2>&1 || need+=(bison)
command -v bc >/dev/null 2>&1 || need+=(bc)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v perl >/dev/null 2>&1 || need+=(perl)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
if [ ${#need[@]} -gt 0 ] && [ "$check" = 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      log "missing Debian packages and not root: apt-get install ${need[*]}"
      log "(TSVIRT_SKIP_LINUX=1 bash scripts/test.sh runs the tests without the Linux guest)"
      exit 1
    fi
  fi
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# --- Where things go --------------------------------------------------------
version="$(dpkg-query -W -f='${Version}' "$pkg")"
# Our inputs: this script and every file of the guest directory.
inputs_hash="$(
  cd "$root" && {
    sha256sum scripts/build-linux-guest.sh
    find apps/vm/guest/linux -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-12
)"
cache="${TSVIRT_CACHE:-$HOME/.cache/tsvirt}"
src="$cache/linux-source-$version"
obj="$cache/linux-obj-$version" # kbuild's O=, shared so a changed input rebuilds only what it touches
out="$cache/linux-$version-$inputs_hash"
mkdir -p "$cache"

print_paths() {
  log "kernel    $out/Image"
  log "initramfs $out/initramfs.cpio"
  echo "TSVIRT_LINUX_IMAGE=$out/Image"
  echo "TSVIRT_LINUX_INITRD=$out/initramfs.cpio"
}
if [ -f "$out/Image" ] && [ -f "$out/initramfs.cpio" ]; then
  print_paths
  exit 0
fi
if [ "$check" = 1 ]; then
  log "not built: no $out (bash scripts/build-linux-guest.sh builds it)"
  exit 3
fi

# One build at a time per source version (vm.sh and test.sh may race).
exec 9>"$cache/linux-$version.lock"
flock 9
if [ -f "$out/Image" ] && [ -f "$out/initramfs.cpio" ]; then
  print_paths
  exit 0
fi

# --- Source, unpacked once ----------------------------------------------------
if [ ! -f "$src/Makefile" ]; then
  log "unpacking $tarball"
  rm -rf "$src.tmp"
  mkdir -p "$src.tmp"
  tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src"
fi

kmake() { make -C "$src" O="$obj" ARCH=riscv CROSS_COMPILE="$cross" "$@"; }

# --- Kernel -------------------------------------------------------------------
log "configuring: tinyconfig + apps/vm/guest/linux/tsvirt.config"
mkdir -p "$obj"
kmake -s tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$guest/tsvirt.config" >/dev/null
kmake -s olddefconfig >&2
# Every option we ask for must survive Kconfig's dependency resolution: a
# misspelt or unmet option would otherwise vanish without a word.
bad=0
while IFS= read -r line; do
  case "$line" in
  CONFIG_*=*) want="$line" ;;
  "# CONFIG_"*" is not set") want="$line" ;;
  *) continue ;;
  esac
  opt="${want#\# }"
  opt="${opt%%[= ]*}"
  got="$(grep -E "^(# )?$opt[= ]" "$obj/.config" || true)"
  # An option that is off may also be absent (its dependencies are off).
  if [ "$got" != "$want" ] && ! { [ -z "$got" ] && [ "${want#\# }" != "$want" ]; }; then
    log "config: asked for '$want', got '${got:-absent}'"
    bad=1
  fi
done <"$guest/tsvirt.config"
[ "$bad" = 0 ] || exit 1

log "building Image (make -j$jobs; minutes on a loaded machine)"
kmake -s -j"$jobs" Image >&2
kmake -s headers >&2

# --- Init and initramfs -----------------------------------------------------------
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
log "building init"
# nolibc is a whole C library in headers; -nostdinc keeps the cross
# toolchain's glibc headers out, the kernel's UAPI headers come from `make headers`.
"${cross}gcc" -Os -static -nostdlib -nostdinc -ffreestanding \
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident \
  -march=rv64gc -mabi=lp64d -Wall -Wextra -Werror \
  -isystem "$("${cross}gcc" -print-file-name=include)" \
  -I "$src/tools/include/nolibc" -I "$obj/usr/include" \
  -include nolibc.h -o "$tmp/init" "$guest/init.c" -lgcc
# gen_init_cpio writes device nodes without root, unlike cpio(1).
gcc -O2 -o "$obj/gen_init_cpio" "$src/usr/gen_init_cpio.c"
cat >"$tmp/initramfs.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $tmp/init 0755 0 0
EOF
"$obj/gen_init_cpio" "$tmp/initramfs.list" >"$tmp/initramfs.cpio"
rm "$tmp/initramfs.list"
cp "$obj/arch/riscv/boot/Image" "$tmp/Image"
cp "$obj/.config" "$tmp/config"
cp "$obj/System.map" "$tmp/System.map"
rm -rf "$out"
mv "$tmp" "$out"
print_paths
exit 0
}
