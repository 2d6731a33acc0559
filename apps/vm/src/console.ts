/** Ctrl-A, the escape key QEMU's -nographic console uses. */
export const CONSOLE_ESCAPE = 0x01;

export type ConsoleCommand = 'quit' | 'help';

/**
 * Splits terminal input into bytes for the guest and console commands, as
 * QEMU's mux does: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends
 * one Ctrl-A to the guest; any other key after Ctrl-A is dropped.
 */
export class EscapeParser {
  private pendingEscape = false;

  feed(bytes: Iterable<number>): { guest: number[]; commands: ConsoleCommand[] } {
    const guest: number[] = [];
    const commands: ConsoleCommand[] = [];
    for (const b of bytes) {
      if (!this.pendingEscape) {
        if (b === CONSOLE_ESCAPE) this.pendingEscape = true;
        else guest.push(b);
        continue;
      }
      this.pendingEscape = false;
      if (b === CONSOLE_ESCAPE) guest.push(b);
      else if (b === 0x78 || b === 0x58) commands.push('quit');
      else if (b === 0x68 || b === 0x48 || b === 0x3f) commands.push('help');
    }
    return { guest, commands };
  }
}

export const CONSOLE_HELP =
  'C-a x    exit the VM\r\nC-a h    this help\r\nC-a C-a  send C-a to the guest\r\n';

/**
 * The VM's console on the process's stdin/stdout: raw mode when stdin is a
 * TTY (restored on stop), plain byte streams for a pipe or file. Guest
 * output is written unchanged; input goes through the escape parser.
 */
export class TerminalConsole {
  private readonly parser = new EscapeParser();
  private rawSet = false;
  private readonly onData = (chunk: Buffer) => {
    const { guest, commands } = this.parser.feed(chunk);
    if (guest.length) this.deliver(guest);
    for (const c of commands) {
      if (c === 'help') this.output.write(CONSOLE_HELP);
      else this.onQuit();
    }
  };

  constructor(
    private readonly input: NodeJS.ReadableStream & {
      isTTY?: boolean;
      setRawMode?: (on: boolean) => unknown;
    },
    private readonly output: NodeJS.WritableStream,
    private readonly deliver: (bytes: number[]) => void,
    private readonly onQuit: () => void,
  ) {}

  start(): void {
    if (this.input.isTTY && this.input.setRawMode) {
      this.input.setRawMode(true);
      this.rawSet = true;
    }
    this.input.on('data', this.onData);
    this.input.resume();
  }

  /** Guest output, one byte from the UART. */
  putByte(b: number): void {
    this.output.write(Uint8Array.of(b));
  }

  stop(): void {
    this.input.off('data', this.onData);
    this.input.pause();
    if (this.rawSet) this.input.setRawMode?.(false);
    this.rawSet = false;
  }
}
