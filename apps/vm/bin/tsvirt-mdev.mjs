#!/usr/bin/env node
// The `tsvirt-mdev` command (mdevctl for tsvirt's mediated devices), run from dist/ as tsvirt-vm is.
import { vmmBundle } from '../build/bundle.mjs';

const { runMdevCommand } = await import(await vmmBundle('mdev-cli'));
runMdevCommand(process.argv.slice(2));
