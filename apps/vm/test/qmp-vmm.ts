import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const appDir = join(import.meta.dirname, '..');
/**
 * The VMM as a child process (src/main.ts under tsx's loader, as scripts/vm.sh runs it, but in one
 * process so that kill() after a failed test leaves no orphan), its console on pipes.
 */
export class VmmProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private closed = false;

  /** `nodeArgs`: options for node itself (the migration bench's `--cpu-prof`, which NODE_OPTIONS refuses). */
  constructor(args: string[], nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts', ...args], {
      cwd: appDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    // 'close', not 'exit': the console's last bytes may still be in the pipe when the process exits.
    this.exited = new Promise((r) =>
      this.child.on('close', (code) => {
        this.closed = true;
        r(code);
      }),
    );
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Wait for `text` to appear in the console output after offset `from`; resolves with the index after it. */
  async output(text: string, from = 0, ms = 120_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.stdout.indexOf(text, from);
      if (at >= 0) return at + text.length;
      if (this.closed) throw new Error(`VMM exited waiting for ${JSON.stringify(text)}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
