// The packages as a user outside the workspace gets them: build (turbo), pack
// each published package with `pnpm pack` (which rewrites workspace: ranges
// and applies publishConfig), check each tarball with publint and
// arethetypeswrong, install the tarballs with npm into a temporary project
// outside the workspace, then type-check three README examples with tsc
// (module NodeNext) and run what tsc emitted with plain node.
//
//   pnpm test:consumer [--skip-build] [--keep]   (--keep leaves the temporary project)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
/** The README examples run by the consumer: the package, and the block index in its README. */
const examples = ['core-bus', 'iommu-type1', 'kvm-core'];

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    process.stderr.write(`consumer-test: failed in ${cwd}: ${cmd} ${args.join(' ')}\n`);
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}\n`);
    process.exit(1);
  }
}

function step(what: string) {
  process.stdout.write(`consumer-test: ${what}\n`);
}

// The published packages: every packages/* that is not private.
const published = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => pkg.private !== true);

const work = mkdtempSync(join(tmpdir(), 'tsvirt-consumer-'));
try {
  if (!process.argv.includes('--skip-build')) {
    step('pnpm build');
    run('pnpm', ['build', '--output-logs=errors-only'], root);
  }

  step(`pnpm pack (${published.length} packages)`);
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const tarballs = new Map<string, string>();
  for (const { dir, pkg } of published) {
    run('pnpm', ['pack', '--pack-destination', packs], join(root, 'packages', dir));
    tarballs.set(pkg.name, join(packs, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`));
  }

  step('publint and arethetypeswrong on each tarball');
  for (const [name, tgz] of tarballs) {
    const lint = run(bin('publint'), ['run', tgz, '--strict'], root);
    if (!lint.includes('All good!')) {
      process.stderr.write(`consumer-test: publint on ${name}:\n${lint}\n`);
      process.exit(1);
    }
    // ESM-only packages: node10 and require() from CommonJS are out of scope.
    run(bin('attw'), ['--profile', 'esm-only', '--no-color', '--format', 'ascii', tgz], root);
  }

  step('npm install of the tarballs into a project outside the workspace');
  const app = join(work, 'app');
  mkdirSync(app);
  const dependencies = Object.fromEntries([...tarballs].map(([name, tgz]) => [name, `file:${tgz}`]));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'tsvirt-consumer',
        private: true,
        type: 'module',
        dependencies,
        // Every @tsvirt range inside the tarballs resolves to the tarball, never the registry.
        overrides: Object.fromEntries([...tarballs.keys()].map((name) => [name, `$${name}`])),
        devDependencies: { '@types/node': readDevVersion('@types/node') },
      },
      null,
      2,
    ),
  );
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string }>;
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.includes('node_modules/@tsvirt/')) continue;
    if (path.lastIndexOf('node_modules/') !== 0 || !entry.resolved?.startsWith('file:')) {
      process.stderr.write(
        `consumer-test: ${path} did not resolve to a tarball at the top (${entry.resolved})\n`,
      );
      process.exit(1);
    }
  }

  step(`README examples (${examples.join(', ')}): tsc --module nodenext, then node`);
  const src = join(app, 'src');
  mkdirSync(src);
  const files: string[] = [];
  for (const dir of examples) {
    const readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    if (block === undefined) throw new Error(`packages/${dir}/README.md has no \`\`\`ts example`);
    writeFileSync(join(src, `${dir}.ts`), block);
    files.push(dir);
  }
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        rootDir: 'src',
        outDir: 'out',
      },
      include: ['src'],
    }),
  );
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
  for (const name of files) {
    const out = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('./out/${name}.js');
console.log(JSON.stringify({ ...m }, (_, v) => (typeof v === 'bigint' ? \`\${v}n\` : v)));`,
      ],
      app,
    );
    step(`  ${name}: ${out.trim()}`);
  }
  step('ok');
} finally {
  if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
  else step(`kept ${work}`);
}

function readDevVersion(name: string): string {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies[name];
}
