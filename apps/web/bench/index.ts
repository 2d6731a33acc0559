import { existsSync } from 'node:fs';
import { runSuite } from '@tsvirt/bench-harness';
import { boot } from '@tsvirt/vm/src/scripted-boot.ts';
import { LINUX_APPEND, type LinuxGuest, linuxGuest } from '@tsvirt/vm/test/linux-guest.ts';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/chromium.ts';
import { msUntilConsole, waitForExit } from '../test/page.ts';
import { buildSite } from '../test/site.ts';
import { serveStatic } from '../test/static-server.ts';

// The same guests booted by the Node VMM (in-process, as apps/vm/bench does)
// and by the built page in Debian's headless Chromium (the VM in its Web
// Worker), in one run: the default guest to its SRST shutdown, and Debian's
// U-Boot to its autoboot prompt, and (when built) the Linux guest to its
// power-off on 2 harts. The page's times run from the Boot click's
// worker start (module load included) to the console text or the exit.

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const AUTOBOOT = 'Hit any key to stop autoboot';

const browser = await launchChromium();
const site = await serveStatic(await buildSite());
const page: Page = await browser.newPage();
await page.goto(site.url);

/** Boot in the page with this guest selection; resolves once the run has ended. */
async function pageBoot(kernel: string | undefined, untilText: string | undefined): Promise<number> {
  if (kernel === undefined) await page.check('input[name="guest"][value="default"]');
  else {
    await page.check('input[name="guest"][value="file"]');
    await page.setInputFiles('#kernel-file', kernel);
  }
  await page.fill('#cpus', '2');
  await page.click('#boot');
  let ms: number;
  if (untilText === undefined) {
    const s = await waitForExit(page, 120_000);
    if (s.exit?.status !== 0) throw new Error(s.error ?? s.exit?.reason);
    ms = s.bootMs!;
  } else {
    ms = await msUntilConsole(page, untilText);
    await page.click('#terminal');
    await page.keyboard.type(' ');
    await msUntilConsole(page, '=> ');
    await page.keyboard.type('poweroff\r');
    const s = await waitForExit(page, 120_000);
    if (s.exit?.status !== 0) throw new Error(s.error ?? s.exit?.reason);
  }
  return ms;
}

/** A case measured by a whole run: tinybench takes the duration the function reports. */
function timed(name: string, measure: () => Promise<number>, baseline?: string) {
  return {
    name,
    iterations: 3,
    time: 0,
    fn: async () => ({ overriddenDuration: await measure() }),
    ...(baseline ? { baseline } : {}),
  };
}

const NODE_DEFAULT = 'Node VMM: default guest to shutdown (2 harts)';
const NODE_UBOOT = 'Node VMM: U-Boot to autoboot prompt (2 harts)';
const cases = [
  timed(NODE_DEFAULT, async () => {
    const t0 = performance.now();
    const r = await boot(['--cpus', '2']);
    if (r.result.status !== 0) throw new Error(r.result.reason);
    return performance.now() - t0;
  }),
  timed('browser: default guest to shutdown (2 harts)', () => pageBoot(undefined, undefined), NODE_DEFAULT),
];
if (existsSync(UBOOT)) {
  cases.push(
    timed(NODE_UBOOT, async () => {
      const t0 = performance.now();
      let at = 0;
      await boot(
        ['--kernel', UBOOT, '--cpus', '2'],
        [
          { expect: AUTOBOOT, send: ' ' },
          { expect: '=> ', send: 'poweroff\r' },
        ],
        (i, t) => {
          if (i === 0) at = t - t0;
        },
      );
      return at;
    }),
    timed('browser: U-Boot to autoboot prompt (2 harts)', () => pageBoot(UBOOT, AUTOBOOT), NODE_UBOOT),
  );
} else {
  console.log(`(U-Boot cases skipped: ${UBOOT} missing; install Debian's u-boot-qemu)`);
}

/** The Linux guest in the page: Image, initramfs and command line through the form; ms to the exit. */
async function pageLinux(g: LinuxGuest): Promise<number> {
  await page.check('input[name="guest"][value="linux"]');
  await page.setInputFiles('#linux-image', g.image);
  await page.setInputFiles('#linux-initrd', g.initrd);
  await page.fill('#append', LINUX_APPEND);
  await page.fill('#cpus', '2');
  await page.click('#boot');
  const s = await waitForExit(page, 300_000);
  if (s.exit?.status !== 0) throw new Error(s.error ?? s.exit?.reason);
  return s.bootMs!;
}

let guest: LinuxGuest | undefined;
try {
  guest = linuxGuest();
} catch (e) {
  console.log(`(Linux cases skipped: ${(e as Error).message})`);
}
if (guest) {
  const g = guest;
  const NODE_LINUX = 'Node VMM: Linux to power-off (2 harts)';
  cases.push(
    {
      ...timed(NODE_LINUX, async () => {
        const t0 = performance.now();
        const r = await boot([
          '--kernel',
          g.image,
          '--initrd',
          g.initrd,
          '--append',
          LINUX_APPEND,
          '--cpus',
          '2',
        ]);
        if (r.result.status !== 0) throw new Error(r.result.reason);
        return performance.now() - t0;
      }),
      iterations: 2,
    },
    { ...timed('browser: Linux to power-off (2 harts)', () => pageLinux(g), NODE_LINUX), iterations: 2 },
  );
}

try {
  await runSuite('apps/web: boot times in headless Chromium beside the Node VMM', cases);
} finally {
  await browser.close();
  await site.close();
}
