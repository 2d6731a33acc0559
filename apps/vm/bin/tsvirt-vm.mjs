#!/usr/bin/env node
// The `tsvirt-vm` command: the VMM prebuilt into dist/ (build/bundle.mjs), rebuilt first if a source changed.
import { vmmBundle } from '../build/bundle.mjs';

const { runVmCommand } = await import(await vmmBundle('main'));
runVmCommand(process.argv.slice(2));
