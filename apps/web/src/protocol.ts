/** What the page asks the VM worker to boot. */
export interface BootConfig {
  /** Shown in messages: the file name, or "default guest". */
  kernelName: string;
  kernel: Uint8Array;
  /** An initramfs for a Linux guest, named as --initrd would name it. */
  initrd?: { name: string; bytes: Uint8Array };
  append?: string;
  cpus: number;
  memMiB: number;
  /** An mdev type, e.g. sample_gpu-small; none for a VM without a GPU. */
  mdev: string[];
  jit: boolean;
}

/** Page -> worker. */
export type ToWorker =
  | { type: 'boot'; config: BootConfig }
  | { type: 'input'; bytes: Uint8Array }
  | { type: 'quit' };

/** A display frame, read as a display client does (QUERY_GFX_PLANE, then the plane's region). */
export interface Frame {
  width: number;
  height: number;
  /** width * height * 4 bytes, RGBA. */
  rgba: Uint8Array;
}

/** The run's end, as the Node VMM's summary gives it. */
export interface ExitReport {
  status: number;
  reason: string;
  /** The three-line summary (formatSummary). */
  summary: string;
  instructions: number;
  wallMs: number;
}

/** Worker -> page. */
export type FromWorker =
  | { type: 'console'; bytes: Uint8Array }
  | { type: 'devices'; lines: string[] }
  | { type: 'frame'; frame: Frame }
  | { type: 'exit'; report: ExitReport }
  | { type: 'error'; message: string };
