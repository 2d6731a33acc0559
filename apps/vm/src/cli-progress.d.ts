// The part of cli-progress 3.12 (which ships no types) the VMM uses: one bar on a stream.
declare module 'cli-progress' {
  export interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    noTTYOutput?: boolean;
    notTTYSchedule?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    etaBuffer?: number;
  }
  export class SingleBar {
    constructor(opts: Options, preset?: object);
    start(total: number, start: number, payload?: Record<string, unknown>): void;
    update(current: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  export const Presets: { shades_classic: object; legacy: object; rect: object };
  const cliProgress: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
}
