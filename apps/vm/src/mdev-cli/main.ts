import { fileURLToPath } from 'node:url';
import { EXIT_STDOUT_CLOSED } from '../config-error.ts';
import { runMdevCli } from './program.ts';

/** Run `tsvirt-mdev` as a command and exit with its status; an unexpected failure is one line and status 1. */
export function runMdevCommand(argv: string[]): void {
  // `tsvirt-mdev types | head -1`: the reader went away (EPIPE). Stop quietly with the status a shell
  // gives a command SIGPIPE ended, as the VMM does; another output error is one line.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`tsvirt-mdev: stdout: ${e.message}\n`);
    process.exit(e.code === 'EPIPE' ? EXIT_STDOUT_CLOSED : 1);
  });
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
