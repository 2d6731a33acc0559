import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { LINUX_APPEND, linuxGuest } from '@tsvirt/vm/test/linux-guest.ts';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.ts';
import { canvasPixels, waitForConsole, waitForExit } from './page.ts';
import { buildSite, WEB_ROOT } from './site.ts';
import { serveStatic } from './static-server.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const VM_BIN = join(WEB_ROOT, '..', 'vm', 'bin', 'tsvirt-vm.mjs');

/** The Node VMM's --screenshot of the default guest on 2 harts: the picture the page must show. */
function nodeScreenshot(): PNG {
  const png = join(mkdtempSync(join(tmpdir(), 'tsvirt-web-shot-')), 'node.png');
  const r = spawnSync(process.execPath, [VM_BIN, '--cpus', '2', '--screenshot', png, '--no-summary'], {
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return PNG.sync.read(readFileSync(png));
}

/** The README's pictures of the page, when asked for (TSVIRT_WEB_SCREENSHOTS=directory). */
async function savePicture(page: Page, name: string): Promise<void> {
  const dir = process.env.TSVIRT_WEB_SCREENSHOTS;
  if (!dir) return;
  const tmp = join(mkdtempSync(join(tmpdir(), 'tsvirt-web-page-')), name);
  await page.screenshot({ path: tmp, fullPage: true });
  copyFileSync(tmp, join(dir, name));
}

describe('the VM in a web page (built site, headless Chromium)', () => {
  let browser: Browser;
  let site: { url: string; close: () => Promise<void> };
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    site = await serveStatic(await buildSite());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('boots the default guest in a worker: its console in the terminal, its display on the canvas as the Node VMM screenshots it, status 0', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.url);
    await page.fill('#cpus', '2');
    await page.click('#boot');
    await waitForConsole(page, 'all 2 harts reported');
    const s = await waitForExit(page);
    expect(s.error).toBeUndefined();
    expect(s.exit).toMatchObject({ status: 0, reason: 'guest shut down' });
    expect(s.console).toContain('display 320x200 XRGB8888 on');
    expect(s.console).toContain('dma complete: fence irq received, copy verified');
    // The terminal widget shows what the console got (xterm renders into its rows).
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a user sees
    expect(await page.locator('#terminal .xterm-rows').innerText()).toContain('all 2 harts reported');
    expect(await page.locator('#summary').textContent()).toMatch(
      /vm: mdev [0-9a-f-]{36} \(sample_gpu-small on sample-gpu\) at 00:01\.0[\s\S]*vm: guest shut down \(status 0\)/,
    );

    const canvas = await canvasPixels(page);
    const shot = nodeScreenshot();
    expect([canvas.width, canvas.height]).toEqual([shot.width, shot.height]);
    let differ = 0;
    for (let i = 0; i < canvas.rgba.length; i++) if (canvas.rgba[i] !== shot.data[i]) differ++;
    expect(differ).toBe(0);
    expect(errors).toEqual([]);

    await savePicture(page, 'default-guest.png');

    // Booting again from the same page: what the page reports is the new run's alone.
    await page.fill('#cpus', '3');
    await page.click('#boot');
    const again = await waitForExit(page);
    expect(again.exit).toMatchObject({ status: 0 });
    expect(again.console).toContain('all 3 harts reported');
    expect(again.console).not.toContain('all 2 harts reported');
    await page.close();
  }, 120_000);

  it('refuses a configuration it cannot boot with one line, and boots nothing', async () => {
    page = await browser.newPage();
    await page.goto(site.url);
    await page.check('input[name="guest"][value="file"]');
    await page.click('#boot');
    expect(await page.locator('#summary').textContent()).toBe('vm: choose a kernel or firmware file');
    // An ELF for no machine: the worker's Machine.create refuses it, as tsvirt-vm does.
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    await page.setInputFiles('#kernel-file', {
      name: 'none.elf',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(elf),
    });
    await page.click('#boot');
    const s = await waitForExit(page);
    expect(s.exit).toBeUndefined();
    expect(s.error).toBe('none.elf: not a RISC-V kernel (ELF machine 0)');
    expect(await page.locator('#summary').textContent()).toBe(`vm: ${s.error}`);
    expect(await page.locator('#boot').isEnabled()).toBe(true);
    await page.close();
  }, 60_000);

  it("boots Debian's U-Boot from a file input and answers `version` and `poweroff` typed into the terminal", async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    page = await browser.newPage();
    await page.goto(site.url);
    await page.check('input[name="guest"][value="file"]');
    await page.setInputFiles('#kernel-file', uboot);
    await page.fill('#cpus', '1');
    await page.click('#boot');
    let at = await waitForConsole(page, 'Hit any key to stop autoboot');
    // Keystrokes go through xterm.js (its hidden textarea has the focus), as a user types them.
    await page.click('#terminal');
    await page.keyboard.type(' ');
    at = await waitForConsole(page, '=> ', at);
    await page.keyboard.type('version');
    await page.keyboard.press('Enter');
    at = await waitForConsole(page, '=> ', at);
    await page.keyboard.type('poweroff');
    await page.keyboard.press('Enter');
    const s = await waitForExit(page);
    expect(s.error).toBeUndefined();
    expect(s.console).toMatch(/=> version\r\nU-Boot 2023\.01[^\r\n]*\r\n/);
    expect(s.console).toMatch(/riscv64-linux-gnu-gcc/);
    expect(s.console).toContain('poweroff ...');
    expect(s.exit).toMatchObject({ status: 0, reason: 'guest shut down' });

    // Quit ends a running guest as Ctrl-A x does: status 130.
    await page.click('#boot');
    await waitForConsole(page, 'Hit any key to stop autoboot');
    await page.click('#quit');
    const quit = await waitForExit(page);
    expect(quit.exit).toMatchObject({ status: 130, reason: 'quit from the console' });
    await page.close();
  }, 120_000);

  it('boots the Linux guest from its Image and initramfs: init runs, draws on the GPU and powers off', async () => {
    const g = linuxGuest();
    if (!g) return;
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(site.url);
    await page.check('input[name="guest"][value="linux"]');
    await page.setInputFiles('#linux-image', g.image);
    await page.setInputFiles('#linux-initrd', g.initrd);
    await page.fill('#append', LINUX_APPEND);
    await page.fill('#cpus', '1');
    await page.click('#boot');
    const s = await waitForExit(page, 100_000);
    expect(s.error).toBeUndefined();
    expect(s.console).toContain('Linux version 6.12');
    expect(s.console).toContain('tsvirt-init: started as pid 1');
    expect(s.console).toContain('tsvirt-init: display 320x200 XRGB8888 on');
    expect(s.console).toContain('reboot: Power down');
    expect(s.exit).toMatchObject({ status: 0, reason: 'guest shut down' });
    // init's picture (apps/vm's Linux test checks the same pixels): a blue gradient, a disc, text.
    const canvas = await canvasPixels(page);
    expect([canvas.width, canvas.height]).toEqual([320, 200]);
    const px = (x: number, y: number) => [...canvas.rgba.subarray((y * 320 + x) * 4, (y * 320 + x) * 4 + 4)];
    expect(px(0, 0)).toEqual([0, 0, 0x20, 0xff]);
    expect(px(160, 80)).toEqual([0xff, 0xd0, 0x00, 0xff]); // the disc's centre
    expect(px(319, 199)).toEqual([0, 0, 0x20 + Math.floor((199 * 0xc0) / 200), 0xff]);
    expect(px(110, 150)).toEqual([0xff, 0xff, 0xff, 0xff]); // a stroke of the text
    await savePicture(page, 'linux.png');
    await page.close();
  }, 120_000);
});
