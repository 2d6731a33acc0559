import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The ```ts blocks of a README, in order. */
export function readmeExamples(readmePath: string): string[] {
  const text = readFileSync(readmePath, 'utf8');
  const blocks: string[] = [];
  const re = /```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) blocks.push(m[1]!);
  return blocks;
}

/**
 * Run each ```ts example of a package's README as a module, so a README that
 * drifts from the code fails the suite. The example imports the package by
 * its published name; the file is written inside the package (test/.readme/)
 * so that the name resolves through the workspace. Returns each module's
 * exports, for the test to check what the example computed.
 */
export async function runReadmeExamples(packageDir: string): Promise<Record<string, unknown>[]> {
  const blocks = readmeExamples(join(packageDir, 'README.md'));
  if (blocks.length === 0) throw new Error(`${packageDir}/README.md has no \`\`\`ts example`);
  const dir = join(packageDir, 'test', '.readme');
  mkdirSync(dir, { recursive: true });
  const out: Record<string, unknown>[] = [];
  for (const [i, code] of blocks.entries()) {
    const file = join(dir, `example-${i}.ts`);
    writeFileSync(file, code);
    out.push(await import(/* @vite-ignore */ `${pathToFileURL(file).href}?t=${Date.now()}`));
  }
  return out;
}

export { requireDebianTool } from './debian-tool.ts';
export { errnoOf } from './errno.ts';
