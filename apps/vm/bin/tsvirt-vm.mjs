#!/usr/bin/env node
// The `tsvirt-vm` command: the VMM's TypeScript sources run through tsx's loader (the workspace has no build step).
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

registerHooks('./source-conditions.mjs', import.meta.url);
register();
const { runVmCommand } = await import('../src/main.ts');
runVmCommand(process.argv.slice(2));
