#!/usr/bin/env node
// The `tsvirt-mdev` command (mdevctl for tsvirt's mediated devices), run through tsx's loader as tsvirt-vm is.
import { register } from 'tsx/esm/api';

register();
const { runMdevCommand } = await import('../src/mdev-cli/main.ts');
runMdevCommand(process.argv.slice(2));
