import type { VmOptions } from '@tsvirt/vm/src/cli.ts';
import { VmConfigError } from '@tsvirt/vm/src/config-error.ts';
import { Machine } from '@tsvirt/vm/src/machine.ts';
import { deviceReports, formatDevice } from '@tsvirt/vm/src/run-report.ts';
import { formatSummary, VmRunner } from '@tsvirt/vm/src/vm-runner.ts';
import { browserVmHost } from './browser-host.ts';
import { DisplayClient } from './display-client.ts';
import type { BootConfig, FromWorker, ToWorker } from './protocol.ts';

// The VM's thread: the whole host stack (host-mm, VFIO, mdev, KVM, the
// sample GPU) and the board run here, so the page stays responsive while
// the vCPU loop runs; the page gets console bytes, display frames and the
// end of the run as messages.

const post = (msg: FromWorker, transfer: Transferable[] = []) => postMessage(msg, { transfer });

/** How often the display is read back (ms of wall time): a 60 Hz page would gain nothing from more. */
const FRAME_MS = 100;

let runner: VmRunner | undefined;

/** The options apps/vm's command line would give for this configuration (its defaults otherwise). */
function vmOptions(c: BootConfig): VmOptions {
  return {
    mem: c.memMiB * 1024 * 1024,
    cpus: c.cpus,
    kernel: c.kernelName,
    mdev: c.mdev,
    plugin: [],
    append: c.append,
    initrd: c.initrd?.name,
    screenshot: undefined,
    screenshotEvery: undefined,
    quantum: 50_000,
    jit: c.jit,
    jitThreshold: undefined,
    summary: true,
    qmp: undefined,
    json: false,
  };
}

async function boot(c: BootConfig): Promise<void> {
  const files = new Map<string, Uint8Array>();
  if (c.initrd) files.set(c.initrd.name, c.initrd.bytes);
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Uint8Array.from(pending);
    pending = [];
    post({ type: 'console', bytes }, [bytes.buffer]);
  };
  const machine = await Machine.create(
    vmOptions(c),
    c.kernelName,
    c.kernel,
    (b) => pending.push(b),
    browserVmHost(files),
  );
  post({ type: 'devices', lines: deviceReports(machine.passthrough).map(formatDevice) });
  const gpu = machine.passthrough.map((p) => DisplayClient.probe(p.fn.device)).find((d) => d !== undefined);
  let lastFrame = -Infinity;
  const sendFrame = () => {
    const frame = gpu?.frame();
    if (frame) post({ type: 'frame', frame }, [frame.rgba.buffer]);
  };
  runner = new VmRunner(machine, () => {
    flush();
    if (performance.now() - lastFrame >= FRAME_MS) {
      lastFrame = performance.now();
      sendFrame();
    }
  });
  const result = await runner.run();
  flush();
  sendFrame();
  post({
    type: 'exit',
    report: {
      status: result.status,
      reason: result.reason,
      summary: formatSummary(result),
      instructions: result.stats.instructions,
      wallMs: result.stats.wallMs,
    },
  });
}

self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'boot':
      boot(msg.config).catch((err: unknown) => {
        const message =
          err instanceof VmConfigError ? err.message : `internal error: ${(err as Error).message ?? err}`;
        post({ type: 'error', message });
      });
      break;
    case 'input':
      runner?.feed([...msg.bytes]);
      break;
    case 'quit':
      runner?.requestQuit();
      break;
  }
});
