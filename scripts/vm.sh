#!/usr/bin/env bash
# Sets up the workspace, then runs the VMM. With no arguments it boots the
# default guest; any arguments go to the VMM (`bash scripts/vm.sh --help`).
# `--linux` builds (or reuses) the Linux guest with
# scripts/build-linux-guest.sh and boots it: the other arguments still go to
# the VMM and win over the defaults (e.g. `--linux --cpus 4`, or
# `--linux --append "console=ttyS0 tsvirt.shell"` for init's shell).
# The VMM runs in the caller's directory, so relative paths (--plugin,
# --kernel, --screenshot) mean what they mean where the command was typed.
# It runs as prebuilt JavaScript (apps/vm/dist/, made with esbuild by
# apps/vm/build/bundle.mjs): the tsvirt-vm bin rebuilds it first when a
# source changed since the last build, so a fresh clone needs nothing more.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$root" && bash scripts/setup.sh)
export PATH="$root/.tools/node_modules/.bin:$PATH"
if [ ! -f "$root/apps/vm/package.json" ]; then
  echo "vm: apps/vm is not built yet; the packages and their tests are (bash scripts/test.sh)." >&2
  exit 2
fi
args=()
linux=0
for a in "$@"; do
  if [ "$a" = --linux ]; then linux=1; else args+=("$a"); fi
done
if [ "$linux" = 1 ]; then
  paths="$(bash "$root/scripts/build-linux-guest.sh")"
  image="$(sed -n 's/^TSVIRT_LINUX_IMAGE=//p' <<<"$paths")"
  initrd="$(sed -n 's/^TSVIRT_LINUX_INITRD=//p' <<<"$paths")"
  args=(--kernel "$image" --initrd "$initrd" --append "console=ttyS0 earlycon" ${args[@]+"${args[@]}"})
fi
exec node "$root/apps/vm/bin/tsvirt-vm.mjs" ${args[@]+"${args[@]}"}
