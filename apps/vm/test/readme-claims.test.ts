import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

// Every .ts file under each package and app src/ directory.
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) out.push(join(dir, e.name));
    }
  };
  for (const top of ['packages', 'apps'])
    for (const pkg of readdirSync(join(root, top))) {
      try {
        walk(join(root, top, pkg, 'src'));
      } catch {
        // no src/
      }
    }
  return out;
}

describe('the root README and CONTRIBUTING.md say what the code does', () => {
  const readme = read('README.md');
  const contributing = read('CONTRIBUTING.md');

  it('DI: modules resolve by token in register(); no source uses @inject decorators, as the README says', () => {
    const text = sources().map((f) => readFileSync(f, 'utf8'));
    const decorated = text.filter((t) => /@inject\(|@injectable\(/.test(t));
    expect(decorated).toHaveLength(0);
    expect(text.filter((t) => /\.resolve<\w+>\([A-Z_]+\)/.test(t)).length).toBeGreaterThan(5);
    expect(readme).toMatch(/No class uses\s+decorators/);
    expect(readme).not.toMatch(/tsyringe with explicit `@inject\(TOKEN\)`/);
  });

  it('every package and app is in the README table', () => {
    for (const top of ['packages', 'apps'])
      for (const pkg of readdirSync(join(root, top))) expect(readme).toContain(`| \`${top}/${pkg}\` |`);
  });

  it('the commands they name are root scripts', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts);
    for (const cmd of ['test', 'typecheck', 'lint', 'bench', 'fuzz']) {
      expect(scripts).toContain(cmd);
      expect(contributing).toContain(`pnpm ${cmd}`);
    }
  });

  it('the bins they name are in apps/vm/package.json', () => {
    const bin = JSON.parse(read('apps', 'vm', 'package.json')).bin;
    expect(Object.keys(bin).sort()).toEqual(['tsvirt-mdev', 'tsvirt-vm']);
    for (const name of Object.keys(bin)) expect(readme).toContain(`\`${name}\``);
  });
});
