#!/usr/bin/env node
// The `tsvirt-vm` command: the VMM's TypeScript sources run through tsx's loader (the workspace has no build step).
import { register } from 'tsx/esm/api';

register();
const { runVmCommand } = await import('../src/main.ts');
runVmCommand(process.argv.slice(2));
