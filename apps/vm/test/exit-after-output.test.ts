import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// A reader slower than the VMM (a pager, a busy test harness) still gets every byte: writes to a
// pipe are asynchronous in Node, and an immediate process.exit() dropped the tail (a migrated
// guest's last console line went missing from the source's output this way).
it('the VMM exits with its status only after a slow reader has taken all of stdout', async () => {
  const main = join(import.meta.dirname, '..', 'src', 'main.ts');
  const script = `
    const { exitAfterOutput } = await import(${JSON.stringify(main)});
    const line = 'x'.repeat(1000) + '\\n';
    for (let i = 0; i < 2000; i++) process.stdout.write(line);
    process.stdout.write('END\\n');
    exitAfterOutput(3);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stdout.pause();
  setTimeout(() => child.stdout.resume(), 1000);
  const status = await new Promise<number | null>((r) => child.on('close', r));
  expect(status).toBe(3);
  expect(out.length).toBe(2000 * 1001 + 4);
  expect(out.endsWith('END\n')).toBe(true);
}, 60_000);
