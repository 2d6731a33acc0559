import type { Page } from 'playwright-core';
import type { ExitReport } from '../src/protocol.ts';

/** What the page exposes as window.tsvirt (src/main.ts). */
export interface PageState {
  startedAt: number;
  console: string;
  frames: number;
  bootMs: number | undefined;
  exit: ExitReport | undefined;
  error: string | undefined;
}

export const pageState = (page: Page) =>
  page.evaluate(() => (window as unknown as { tsvirt: PageState }).tsvirt);

/** Wait until the console shows `text` (after `from` characters), failing early if the run ends or fails. */
export async function waitForConsole(page: Page, text: string, from = 0, timeout = 90_000): Promise<number> {
  const handle = await page.waitForFunction(
    ([t, f]) => {
      const s = (window as unknown as { tsvirt: PageState }).tsvirt;
      const at = s.console.indexOf(t as string, f as number);
      if (at >= 0) return at + (t as string).length;
      if (s.error !== undefined) return `error: ${s.error}`;
      return false;
    },
    [text, from],
    { timeout, polling: 50 },
  );
  const v = await handle.jsonValue();
  if (typeof v === 'string') throw new Error(`waiting for ${JSON.stringify(text)}: ${v}`);
  return v as number;
}

/** Wait for the run's end (exit or error) and return the page state. */
export async function waitForExit(page: Page, timeout = 90_000): Promise<PageState> {
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { tsvirt: PageState }).tsvirt;
      return s.exit !== undefined || s.error !== undefined;
    },
    null,
    { timeout, polling: 50 },
  );
  return pageState(page);
}

/** The canvas's pixels, RGBA, as the page drew them. */
export async function canvasPixels(page: Page): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  const r = await page.evaluate(() => {
    const c = document.getElementById('display') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 0x8000) bin += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, b64: btoa(bin) };
  });
  return { width: r.width, height: r.height, rgba: new Uint8Array(Buffer.from(r.b64, 'base64')) };
}

/** Milliseconds from the boot to `text` on the console, measured in the page (polled every 5 ms). */
export async function msUntilConsole(page: Page, text: string, timeout = 120_000): Promise<number> {
  const handle = await page.waitForFunction(
    (t) => {
      const s = (window as unknown as { tsvirt: PageState }).tsvirt;
      if (s.error !== undefined) return `error: ${s.error}`;
      return s.console.includes(t) ? performance.now() - s.startedAt : false;
    },
    text,
    { timeout, polling: 5 },
  );
  const v = await handle.jsonValue();
  if (typeof v === 'string') throw new Error(`waiting for ${JSON.stringify(text)}: ${v}`);
  return v as number;
}
