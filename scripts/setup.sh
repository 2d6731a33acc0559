#!/usr/bin/env bash
# Sets up the workspace on a machine that has only Node 20 and npm:
# a pinned pnpm under .tools/ (no global install, no root needed), then the
# workspace dependencies from the lockfile. Safe to run again: it does
# nothing that is already done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pnpm_version="$(node -p "require('./package.json').packageManager.split('@')[1]")"
pnpm_bin="$root/.tools/node_modules/.bin/pnpm"
if [ ! -x "$pnpm_bin" ] || [ "$("$pnpm_bin" --version)" != "$pnpm_version" ]; then
  echo "setup: installing pnpm $pnpm_version into .tools/" >&2
  npm install --silent --no-save --no-package-lock --prefix "$root/.tools" "pnpm@$pnpm_version" >&2
fi
export PATH="$root/.tools/node_modules/.bin:$PATH"

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "setup: pnpm install" >&2
  pnpm install --frozen-lockfile --reporter=append-only >&2
fi
