#!/usr/bin/env bash
# Sets up the workspace, then runs the VMM. With no arguments it boots the
# default guest; any arguments go to the VMM (`bash scripts/vm.sh --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export PATH="$root/.tools/node_modules/.bin:$PATH"
if [ ! -f apps/vm/package.json ]; then
  echo "vm: apps/vm is not built yet; the packages and their tests are (bash scripts/test.sh)." >&2
  exit 2
fi
cd apps/vm
exec "$root/node_modules/.bin/tsx" --conditions=@tsvirt/source src/main.ts "$@"
