import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Find a Debian-provided tool (a command name or an absolute file path).
 * Missing in CI is a failure naming the package that provides it, never a
 * silent skip; missing on a developer machine returns undefined with a
 * message, so the test can skip with that message.
 */
export function requireDebianTool(tool: string, debianPackage: string): string | undefined {
  const found = tool.startsWith('/') ? (existsSync(tool) ? tool : undefined) : which(tool);
  if (found) return found;
  const msg = `${tool} is missing: install Debian's ${debianPackage} (bash scripts/debian-deps.sh does, as root)`;
  if (process.env.CI) throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return undefined;
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
