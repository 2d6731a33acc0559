import { fileURLToPath } from 'node:url';
import { runMdevCli } from './program.ts';

/** Run `tsvirt-mdev` as a command and exit with its status; an unexpected failure is one line and status 1. */
export function runMdevCommand(argv: string[]): void {
  const io = {
    out: (s: string) => process.stdout.write(s),
    err: (s: string) => process.stderr.write(s),
    env: process.env,
  };
  runMdevCli(argv, io).then(
    (status) => {
      process.exitCode = status;
    },
    (e: unknown) => {
      process.stderr.write(`tsvirt-mdev: internal error: ${(e as Error).message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

const isEntry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) runMdevCommand(process.argv.slice(2));
