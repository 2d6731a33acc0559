#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up, Debian reference tools,
# the Linux guest (built once, then cached; see scripts/build-linux-guest.sh),
# type check, lint, then every package's tests in one vitest run. The Linux
# guest's paths reach its test as TSVIRT_LINUX_IMAGE / TSVIRT_LINUX_INITRD.
# TSVIRT_SKIP_LINUX=1 skips building it (for a machine without the cross
# tools; the Linux test then says it was skipped). Before the tests, the
# consumer test (the packed packages installed outside the workspace).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/debian-deps.sh
export PATH="$root/.tools/node_modules/.bin:$PATH"
if [ "${TSVIRT_SKIP_LINUX:-}" != 1 ]; then
  paths="$(bash scripts/build-linux-guest.sh)"
  TSVIRT_LINUX_IMAGE="$(sed -n 's/^TSVIRT_LINUX_IMAGE=//p' <<<"$paths")"
  TSVIRT_LINUX_INITRD="$(sed -n 's/^TSVIRT_LINUX_INITRD=//p' <<<"$paths")"
  export TSVIRT_LINUX_IMAGE TSVIRT_LINUX_INITRD
fi
pnpm typecheck
pnpm lint
# The packages as a user outside the workspace gets them (build, pack, install, run).
pnpm test:consumer
# Last, so the test runner's summary closes the output.
pnpm test "$@"
