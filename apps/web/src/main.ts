import '@xterm/xterm/css/xterm.css';
import './style.css';
import defaultGuestUrl from '@tsvirt/vm/guest/default/default.bin?url';
import { Terminal } from '@xterm/xterm';
import type { BootConfig, ExitReport, Frame, FromWorker, ToWorker } from './protocol.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('config');
const bootButton = $<HTMLButtonElement>('boot');
const quitButton = $<HTMLButtonElement>('quit');
const canvas = $<HTMLCanvasElement>('display');
const summary = $<HTMLPreElement>('summary');

const term = new Terminal({ cols: 100, rows: 30, convertEol: false, scrollback: 5000 });
term.open($('terminal'));

/** What a test (or a curious user in the console) can read: the console transcript and the run's end. */
interface PageState {
  /** performance.now() when the worker was started. */
  startedAt: number;
  console: string;
  frames: number;
  bootMs: number | undefined;
  exit: ExitReport | undefined;
  error: string | undefined;
}
const state: PageState = {
  startedAt: 0,
  console: '',
  frames: 0,
  bootMs: undefined,
  exit: undefined,
  error: undefined,
};
(window as unknown as { tsvirt: PageState }).tsvirt = state;

let worker: Worker | undefined;
const send = (msg: ToWorker, transfer: Transferable[] = []) => worker?.postMessage(msg, transfer);

// Keystrokes go to the guest's UART as bytes (xterm gives Enter as \r, as a serial terminal sends it).
const encoder = new TextEncoder();
term.onData((data) => {
  const bytes = encoder.encode(data);
  send({ type: 'input', bytes }, [bytes.buffer]);
});

const decoder = new TextDecoder();
function onConsole(bytes: Uint8Array): void {
  term.write(bytes);
  state.console += decoder.decode(bytes, { stream: true });
}

function draw(f: Frame): void {
  if (canvas.width !== f.width || canvas.height !== f.height) {
    canvas.width = f.width;
    canvas.height = f.height;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(
    new ImageData(new Uint8ClampedArray(f.rgba.buffer as ArrayBuffer), f.width, f.height),
    0,
    0,
  );
  state.frames++;
}

function finished(): void {
  worker?.terminate();
  worker = undefined;
  bootButton.disabled = false;
  quitButton.disabled = true;
}

async function fileBytes(input: string): Promise<{ name: string; bytes: Uint8Array } | undefined> {
  const file = $<HTMLInputElement>(input).files?.[0];
  return file && { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

async function bootConfig(): Promise<BootConfig> {
  const guest = (form.elements.namedItem('guest') as RadioNodeList).value;
  const common = {
    cpus: Number($<HTMLInputElement>('cpus').value),
    memMiB: Number($<HTMLInputElement>('mem').value),
    mdev: $<HTMLSelectElement>('mdev').value ? [$<HTMLSelectElement>('mdev').value] : [],
    jit: $<HTMLInputElement>('jit').checked,
  };
  if (guest === 'file') {
    const f = await fileBytes('kernel-file');
    if (!f) throw new Error('choose a kernel or firmware file');
    return { ...common, kernelName: f.name, kernel: f.bytes };
  }
  if (guest === 'linux') {
    const image = await fileBytes('linux-image');
    const initrd = await fileBytes('linux-initrd');
    if (!image) throw new Error('choose a Linux Image');
    return {
      ...common,
      kernelName: image.name,
      kernel: image.bytes,
      ...(initrd ? { initrd } : {}),
      append: $<HTMLInputElement>('append').value,
    };
  }
  const res = await fetch(defaultGuestUrl);
  return { ...common, kernelName: 'default guest', kernel: new Uint8Array(await res.arrayBuffer()) };
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void start();
});
quitButton.addEventListener('click', () => send({ type: 'quit' }));

async function start(): Promise<void> {
  // Forget the last run before anything is awaited: whoever watches the page never sees its end as this one's.
  term.reset();
  Object.assign(state, { console: '', frames: 0, bootMs: undefined, exit: undefined, error: undefined });
  summary.textContent = '';
  summary.className = '';
  let config: BootConfig;
  try {
    config = await bootConfig();
  } catch (e) {
    state.error = (e as Error).message;
    summary.textContent = `vm: ${state.error}`;
    summary.className = 'failed';
    return;
  }
  bootButton.disabled = true;
  quitButton.disabled = false;
  const t0 = performance.now();
  state.startedAt = t0;
  worker = new Worker(new URL('./vm.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'console':
        onConsole(msg.bytes);
        break;
      case 'devices':
        summary.textContent = `${msg.lines.join('\n')}\n`;
        break;
      case 'frame':
        draw(msg.frame);
        break;
      case 'exit':
        state.bootMs = performance.now() - t0;
        state.exit = msg.report;
        summary.textContent += msg.report.summary;
        if (msg.report.status !== 0) summary.className = 'failed';
        finished();
        break;
      case 'error':
        state.error = msg.message;
        summary.textContent += `vm: ${msg.message}`;
        summary.className = 'failed';
        finished();
        break;
    }
  };
  worker.onerror = (e) => {
    state.error = e.message;
    summary.textContent += `vm: worker: ${e.message}`;
    finished();
  };
  send({ type: 'boot', config }, [config.kernel.buffer as ArrayBuffer]);
  term.focus();
}
