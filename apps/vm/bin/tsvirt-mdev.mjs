#!/usr/bin/env node
// The `tsvirt-mdev` command (mdevctl for tsvirt's mediated devices), run through tsx's loader as tsvirt-vm is.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

registerHooks('./source-conditions.mjs', import.meta.url);
register();
const { runMdevCommand } = await import('../src/mdev-cli/main.ts');
runMdevCommand(process.argv.slice(2));
