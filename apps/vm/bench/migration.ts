import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CaseResult, formatTable } from '@tsvirt/bench-harness';
import { QmpTestClient } from '../test/qmp-client.ts';
import { VmmProcess } from '../test/qmp-vmm.ts';
import { haveQemu } from './qemu.ts';

// Live migration (issue 16): Debian's U-Boot moved between two processes over loopback TCP,
// on tsvirt (two VMM processes, QMP `migrate` on the source, `--incoming` on the destination)
// and on QEMU TCG (`-incoming tcp:` on the destination), in the same run. Each sample is one
// migration; the figures are the source's `query-migrate` once it reports `completed`.

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const PROMPT = '\n=> ';
/**
 * The dirtying guest: U-Boot's shell writes 1 MiB (`mw.l` of 0x40000 words, a new value each
 * round) and sleeps 100 ms, for ever: at most 10 MiB/s dirtied on a VMM that runs `mw` quickly
 * (a slower one dirties less; the report gives the pages each moved).
 */
const DIRTY_LOOP =
  'setexpr i 0; while itest 1 == 1; do mw.l 82000000 $i 40000; setexpr i $i + 1; sleep 0.1; done\r';
/** Both sides the same: QEMU's default downtime limit, and a bandwidth cap neither reaches on loopback. */
const PARAMS = { 'downtime-limit': 300, 'max-bandwidth': 1 << 30 };
// The VMM children run the sources under tsx, as the tests' processes do (vitest.source.ts).
if (!process.env.NODE_OPTIONS?.includes('--conditions=@tsvirt/source'))
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --conditions=@tsvirt/source`.trim();
const quick = process.env.BENCH_QUICK === '1';
const SAMPLES = Number(process.env.MIGBENCH_SAMPLES ?? (quick ? 1 : 3));
/**
 * MIGBENCH_PROFILE=DIR: the tsvirt VMMs run with `--cpu-prof` into DIR and end with QMP `quit`
 * (a killed process writes no profile), so both ends of a migration can be profiled.
 */
const PROFILE = process.env.MIGBENCH_PROFILE;
/** MIGBENCH_ONLY=idle|256|1g: one configuration (for profiling and quick comparisons). */
const ONLY = process.env.MIGBENCH_ONLY;
/** MIGBENCH_VMM=tsvirt|qemu: one VMM only. */
const ONLY_VMM = process.env.MIGBENCH_VMM;

interface Guest {
  stdout: string;
  stderr: string;
  type(text: string): void;
  kill(): void;
  exited: Promise<number | null>;
}

/** QEMU's virt board (TCG) running U-Boot under its OpenSBI, console on pipes, QMP on a unix socket. */
class QemuProcess implements Guest {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  constructor(mem: string, qmp: string, extra: string[] = []) {
    this.child = spawn(
      'qemu-system-riscv64',
      [
        ...['-M', 'virt', '-smp', '1', '-m', mem, '-nographic', '-bios', 'default', '-kernel', UBOOT],
        ...['-monitor', 'none', '-qmp', `unix:${qmp},server=on,wait=off`, ...extra],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child.stdout!.setEncoding('latin1').on('data', (d: string) => {
      this.stdout += d;
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }
  type(text: string): void {
    this.child.stdin!.write(text);
  }
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

async function waitFor(g: Guest, text: string, from = 0, ms = 120_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const at = g.stdout.indexOf(text, from);
    if (at >= 0) return at + text.length;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function qmpWhenUp(sock: string, g: Guest): Promise<QmpTestClient> {
  for (let i = 0; ; i++) {
    try {
      const c = await QmpTestClient.open(sock);
      await c.greeting();
      await c.execute('qmp_capabilities');
      return c;
    } catch (e) {
      if (
        i > 600 ||
        (await Promise.race([g.exited, new Promise((r) => setTimeout(() => r('w'), 100))])) !== 'w'
      )
        throw new Error(`QMP never came up on ${sock}: ${(e as Error).message}; ${g.stderr}`);
    }
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Wait for a LISTEN socket on the port (/proc/net/tcp), without taking the destination's one connection. */
async function listening(port: number, g: Guest): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (let i = 0; i < 2400; i++) {
    const rows = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
    if (rows.some((r) => r.trim().split(/\s+/)[1]?.endsWith(hex) && r.trim().split(/\s+/)[3] === '0A'))
      return;
    if ((await Promise.race([g.exited, new Promise((r) => setTimeout(() => r('w'), 50))])) !== 'w')
      throw new Error('destination exited before listening');
  }
  throw new Error('destination never listened');
}

export interface MigrationSample {
  totalMs: number;
  downtimeMs: number;
  passes: number;
  transferred: number;
  /** query-migrate's `mbps` (megabits/s, as QEMU reports it). */
  mbps: number;
}

type Vmm = 'tsvirt' | 'qemu';

/**
 * Boot U-Boot on `vmm` to its prompt, fill `fill` MiB at 0x84000000 with `mw.l`, start the
 * dirtying loop if asked, and migrate it to a fresh destination.
 */
async function migrateOnce(vmm: Vmm, mem: string, dirty: boolean, fill = 0): Promise<MigrationSample> {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-'));
  const port = await freePort();
  const procs: Guest[] = [];
  const nodeArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [];
  try {
    const srcSock = join(dir, 'src.sock');
    const src: Guest =
      vmm === 'tsvirt'
        ? new VmmProcess(
            ['--kernel', UBOOT, '--cpus', '1', '--mem', mem, '--qmp', `unix:${srcSock}`, '--no-summary'],
            nodeArgs,
          )
        : new QemuProcess(mem, srcSock);
    procs.push(src);
    const qs = await qmpWhenUp(srcSock, src);
    let at = await waitFor(src, 'Hit any key to stop autoboot');
    src.type(' ');
    at = await waitFor(src, PROMPT, at);
    if (fill) {
      src.type(`mw.l 84000000 a5a5a5a5 ${(fill << 18).toString(16)}\r`);
      at = await waitFor(src, PROMPT, at);
    }
    if (dirty) {
      src.type(DIRTY_LOOP);
      // Let a few rounds run first, so the migration starts with the loop going.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const dstSock = join(dir, 'dst.sock');
    const uri = `tcp:127.0.0.1:${port}`;
    const dst: Guest =
      vmm === 'tsvirt'
        ? new VmmProcess(
            ['--incoming', uri, '--cpus', '1', '--mem', mem, '--qmp', `unix:${dstSock}`, '--no-summary'],
            nodeArgs,
          )
        : new QemuProcess(mem, dstSock, ['-incoming', uri]);
    procs.push(dst);
    await listening(port, dst);
    const set = await qs.execute('migrate-set-parameters', PARAMS);
    if (set.error) throw new Error(`${vmm}: migrate-set-parameters: ${set.error.desc}`);
    const m = await qs.execute('migrate', { uri });
    if (m.error) throw new Error(`${vmm}: migrate: ${m.error.desc}`);
    for (let i = 0; ; i++) {
      const r = (await qs.execute('query-migrate')).return;
      if (r.status === 'completed') {
        if (process.env.MIGBENCH_VERBOSE)
          console.error(
            `${vmm} ${mem}: total ${r['total-time']} ms, downtime ${r.downtime} ms, passes ${r.ram['dirty-sync-count']}, ${r.ram.transferred} B`,
          );
        if (PROFILE && vmm === 'tsvirt') {
          // Let the destination take its QMP, then end both cleanly so --cpu-prof writes.
          const qd = await qmpWhenUp(dstSock, dst);
          await qd.execute('quit');
          await qs.execute('quit');
          await Promise.all([src.exited, dst.exited]);
        }
        return {
          totalMs: r['total-time'],
          downtimeMs: r.downtime,
          passes: r.ram['dirty-sync-count'],
          transferred: r.ram.transferred,
          mbps: r.ram.mbps,
        };
      }
      if (r.status === 'failed' || r.status === 'cancelled' || i > 6000)
        throw new Error(`${vmm}: migration ${r.status}: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Student's t at 95% (two-sided) for n-1 degrees of freedom, as tinybench's rme uses. */
const T95 = [0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262];

function row(name: string, values: number[], extra: Partial<CaseResult> = {}): CaseResult {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const rme = n > 1 && mean > 0 ? (((T95[n - 1] ?? 1.96) * sd) / Math.sqrt(n) / mean) * 100 : 0;
  return {
    name,
    hz: mean > 0 ? 1000 / mean : 0,
    meanMs: mean,
    rme,
    samples: n,
    rate: undefined,
    unit: undefined,
    vsBaseline: undefined,
    ...extra,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Two rows per configuration: `total` (query-migrate's total-time; rate = bytes on the wire over
 * total-time, and the passes in the name) and `downtime`, from the same samples. tsvirt's rows
 * are given against QEMU's as baseline.
 */
function rowsFor(label: string, s: MigrationSample[], base?: CaseResult[]): CaseResult[] {
  const passes = mean(s.map((x) => x.passes));
  const mib = mean(s.map((x) => x.transferred)) / 2 ** 20;
  const total = row(
    `${label}: total (${passes.toFixed(1)} passes, ${mib.toFixed(1)} MiB sent)`,
    s.map((x) => x.totalMs),
  );
  total.rate = mean(s.map((x) => x.transferred / (x.totalMs / 1000)));
  total.unit = 'B';
  const down = row(
    `${label}: downtime`,
    s.map((x) => x.downtimeMs),
  );
  if (base) {
    total.vsBaseline = total.meanMs / base[0]!.meanMs;
    down.vsBaseline = down.meanMs / base[1]!.meanMs;
  }
  return [total, down];
}

export async function migrationSuite(print: (line: string) => void = console.log): Promise<CaseResult[]> {
  if (!existsSync(UBOOT)) {
    print(`(migration cases skipped: ${UBOOT} missing; install Debian's u-boot-qemu)`);
    return [];
  }
  const q = haveQemu();
  if (!q) print('(QEMU migration cases skipped: qemu-system-riscv64 missing)');
  // The idle case is the downtime aim; the dirtying ones first fill part of RAM (so the first
  // pass carries real data, not zero pages left out) and then run the loop throughout.
  const configs: { what: string; mem: string; dirty: boolean; fill: number }[] = [
    { what: 'idle U-Boot, 256 MiB', mem: '256M', dirty: false, fill: 0 },
    { what: 'U-Boot dirtying, 256 MiB (128 MiB filled)', mem: '256M', dirty: true, fill: 128 },
    { what: 'U-Boot dirtying, 1 GiB (512 MiB filled)', mem: '1G', dirty: true, fill: 512 },
  ];
  const results: CaseResult[] = [];
  const pick = { idle: 0, '256': 1, '1g': 2 }[ONLY ?? ''];
  for (const c of pick === undefined ? configs : [configs[pick]!]) {
    let base: CaseResult[] | undefined;
    if (q && ONLY_VMM !== 'tsvirt') {
      const s: MigrationSample[] = [];
      for (let i = 0; i < SAMPLES; i++) s.push(await migrateOnce('qemu', c.mem, c.dirty, c.fill));
      base = rowsFor(`QEMU TCG: migrate ${c.what}`, s);
      results.push(...base);
    }
    if (ONLY_VMM === 'qemu') continue;
    const s: MigrationSample[] = [];
    for (let i = 0; i < SAMPLES; i++) s.push(await migrateOnce('tsvirt', c.mem, c.dirty, c.fill));
    results.push(...rowsFor(`tsvirt: migrate ${c.what}`, s, base));
  }
  print(
    formatTable(
      'apps/vm: live migration over loopback TCP (query-migrate on the source; rate = bytes sent / total-time)',
      results,
    ),
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await migrationSuite();
