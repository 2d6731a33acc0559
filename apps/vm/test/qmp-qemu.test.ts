import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpTestClient } from './qmp-client.ts';
import { VmmProcess } from './qmp-vmm.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

async function connect(path: string, exited: Promise<unknown>): Promise<QmpTestClient> {
  for (let i = 0; ; i++) {
    try {
      return await QmpTestClient.open(path);
    } catch (e) {
      const waited = await Promise.race([exited, new Promise((r) => setTimeout(() => r('wait'), 100))]);
      if (i > 600 || waited !== 'wait') throw new Error(`no QMP socket: ${(e as Error).message}`);
    }
  }
}

/** The same conversation with any QMP server: what came back, normalised where servers may differ. */
async function converse(c: QmpTestClient) {
  const g = (await c.greeting()).QMP;
  const out: Record<string, unknown> = {
    greetingKeys: Object.keys(g).sort(),
    versionKeys: Object.keys(g.version).sort(),
    tripleKeys: Object.keys(g.version.qemu).sort(),
    capabilitiesIsArray: Array.isArray(g.capabilities),
    beforeNegotiation: (await c.execute('query-status')).error,
    negotiate: await c.execute('qmp_capabilities'),
    again: (await c.execute('qmp_capabilities')).error,
    unknown: (await c.execute('no-such-command')).error,
  };
  const raw = async (text: string) => {
    const n = c.messages.length;
    c.send(text);
    return (await c.until(() => c.messages[n])).error;
  };
  out.stray = await raw('@\n');
  out.closer = await raw('}\n');
  out.duplicate = await raw('{"execute":"stop","execute":"cont"}');
  out.nonObject = await raw('[1]');
  out.lacksExecute = await raw('{"id":1}');
  out.executeNotString = await raw('{"execute":1}');
  out.argumentsNotObject = await raw('{"execute":"query-status","arguments":[]}');
  out.unexpectedMember = await raw('{"execute":"query-status","foo":1}');
  out.missing = (await c.execute('screendump')).error;
  out.wrongType = (await c.execute('screendump', { filename: 5 })).error;
  out.extra = (await c.execute('screendump', { filename: '/dev/null', x: 1 })).error;
  out.badEnum = (await c.execute('screendump', { filename: '/dev/null', format: 'jpg' })).error;
  out.headAlone = (await c.execute('screendump', { filename: '/dev/null', head: 1 })).error;
  out.noDevice = (await c.execute('screendump', { filename: '/dev/null', device: 'nope' })).error;
  const status = (await c.execute('query-status')).return;
  out.statusHas = { running: typeof status.running, status: typeof status.status };
  out.stop = await c.execute('stop');
  out.stopEvent = Object.keys(await c.event('STOP')).sort();
  out.paused = (await c.execute('query-status')).return.status;
  out.quit = await c.execute('quit');
  out.shutdown = (await c.event('SHUTDOWN')).data;
  await c.waitClosed();
  // The ids are this client's own.
  for (const k of ['negotiate', 'stop', 'quit']) delete (out[k] as { id?: unknown }).id;
  return out;
}

describe("the same QMP client against QEMU's -qmp and this VMM's --qmp", () => {
  let qemu: ChildProcess | undefined;
  let vm: VmmProcess | undefined;
  afterEach(() => {
    if (qemu?.exitCode === null) qemu.kill('SIGKILL');
    vm?.kill();
  });

  it('greeting shape, error classes and messages, STOP and SHUTDOWN agree', async () => {
    const qemuBin = requireDebianTool('qemu-system-riscv64', 'qemu-system-misc');
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!qemuBin || !uboot) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmp-qemu-'));
    const qemuSock = join(dir, 'qemu.sock');
    qemu = spawn(
      qemuBin,
      [
        ...['-M', 'virt', '-m', '128M', '-display', 'none', '-serial', 'none', '-monitor', 'none'],
        ...['-kernel', uboot, '-qmp', `unix:${qemuSock},server=on,wait=off`],
      ],
      { stdio: 'ignore' },
    );
    const qemuExited = new Promise((r) => qemu!.on('exit', r));
    const ours = join(dir, 'vm.sock');
    vm = new VmmProcess(['--kernel', uboot, '--cpus', '1', '--qmp', `unix:${ours}`, '--no-summary']);

    const fromQemu = await converse(await connect(qemuSock, qemuExited));
    const fromVmm = await converse(await connect(ours, vm.exited));
    expect(fromVmm).toEqual(fromQemu);
    expect(fromVmm.beforeNegotiation).toMatchObject({ class: 'CommandNotFound' });
    expect(fromVmm.shutdown).toEqual({ guest: false, reason: 'host-qmp-quit' });
    expect(await qemuExited).toBe(0);
    expect(await vm.exited).toBe(0);
  }, 300_000);
});
