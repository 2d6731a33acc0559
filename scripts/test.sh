#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up, Debian reference tools,
# type check, lint, every package's tests in one vitest run, then the
# consumer test (the packed packages installed outside the workspace).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/debian-deps.sh
export PATH="$root/.tools/node_modules/.bin:$PATH"
pnpm typecheck
pnpm lint
pnpm test "$@"
# The packages as a user outside the workspace gets them (build, pack, install, run).
pnpm test:consumer
