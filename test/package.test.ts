import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from './helpers.js';

// The package as users get it: `npm pack`'s tarball (after the build `npm test` runs first)
// ships only what runs, its bin works, and a scratch project imports the library API and
// type-checks against its declarations. The scratch project's meshcap finds its
// dependencies in this project's node_modules (symlinked): no network, nothing installed.
const root = resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const s = scratchDir('meshcap-pack-');
let files: { path: string; mode: number }[] = [];
let tarball = '';
const installed = join(s.dir, 'project', 'node_modules', 'meshcap');

beforeAll(() => {
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', s.dir], { cwd: root, encoding: 'utf8' });
  const info = (JSON.parse(out) as { filename: string; files: { path: string; mode: number }[] }[])[0];
  files = info.files;
  tarball = join(s.dir, info.filename);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
  symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
}, 120_000);
afterAll(() => s.cleanup());

describe('the npm package', () => {
  it('ships the built product, its schema, generated validator, shell runtime and docs, and nothing else', () => {
    const paths = files.map((f) => f.path);
    for (const p of ['dist/src/cli/main.js', 'dist/src/api.js', 'dist/src/api.d.ts', 'backends/nftables/schema.json', 'backends/nftables/schema.validate.cjs', 'backends/shell/runtime.sh', 'docs/cli.md', 'README.md', 'package.json']) expect(paths).toContain(p);
    const stray = paths.filter((p) => /^(test|bench|specs|src|grammar)\//.test(p) || /^dist\/(test|bench)\//.test(p) || (/\.ts$/.test(p) && !p.endsWith('.d.ts')) || p.endsWith('.map'));
    expect(stray).toEqual([]);
  });

  it('the bin is an executable script with a node shebang, and runs from the unpacked tarball', () => {
    const bin = files.find((f) => f.path === 'dist/src/cli/main.js')!;
    expect(bin.mode & 0o111).toBe(0o111);
    const main = join(installed, 'dist/src/cli/main.js');
    expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const r = spawnSync(main, ['compile', '-v', '--backend', 'nftables', join(root, 'specs/istio-sidecar.intercept')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/verified: optimized IR = nftables output: equal over all packets/);
    expect(JSON.parse(r.stdout)).toHaveProperty('nftables');
  });

  it('a scratch project imports the library API by the package name and type-checks against its declarations', () => {
    const project = join(s.dir, 'project');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', type: 'module' }));
    const spec = join(root, 'specs/istio-sidecar.intercept');
    const code = `import { compile, diff, load, trace, verify, version } from 'meshcap';
const spec: string = ${JSON.stringify(spec)};
const loaded = load(spec);
const c = compile(spec, { backends: ['iptables'] });
const t = trace(spec, 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=1000');
const d = diff(spec, spec);
const v = verify(spec, []);
const bad = load('p.intercept', 'policy p { nonsense }');
const artifact: string | undefined = c.artifacts[0]?.text;
console.log(JSON.stringify({ version: version(), name: loaded.policy?.name, ok: c.ok, files: c.artifacts.map((a) => a.fileName), proofs: c.proofs.map((p) => p.result), head: artifact?.split('\\n')[1], outcome: t.outcome, diff: d.result, verify: v.diagnostics.length, bad: bad.diagnostics.map((x) => x.code) }));
`;
    writeFileSync(join(project, 'index.ts'), code);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, outDir: 'out', types: [], skipLibCheck: true }, files: ['index.ts'] }));
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const r = spawnSync(process.execPath, [join(project, 'out/index.js')], { encoding: 'utf8', cwd: project });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(got).toMatchObject({ name: 'istio-sidecar', ok: true, files: ['istio-sidecar.iptables.rules'], diff: 'equal' });
    expect(got.version).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    expect(got.proofs).toEqual(['equal', 'equal', 'equal']); // meaning = IR, IR = optimized IR, IR = iptables output
    expect(got.head).toMatch(/^# Load beside other tools' rules: iptables-restore --noflush/);
    expect(typeof (got.outcome as { verdict?: unknown }).verdict).toBe('string');
    expect((got.bad as string[]).length).toBeGreaterThan(0);
  }, 60_000);

  it('npm install -g of the tarball gives a working meshcap', () => {
    const prefix = join(s.dir, 'global');
    const r = spawnSync(npm, ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const v = spawnSync(join(prefix, 'bin', 'meshcap'), ['--version'], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^meshcap \d+\.\d+\.\d+/);
  }, 120_000);
});

// From git: a bare repository of this commit (HEAD: commit before running this) stands for
// the remote. npm clones it and runs `prepare` (the build) with the devDependencies; it
// reads the npm cache first (--prefer-offline), so it needs the registry only for what
// the cache lacks (CI reaches the registry).
describe('the package from git', () => {
  const g = scratchDir('meshcap-git-');
  const repo = join(g.dir, 'repo.git');
  const url = `git+file://${repo}`;
  const env = { ...process.env, npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? g.dir, '.npm') };
  beforeAll(() => {
    execFileSync('git', ['init', '-q', '--bare', repo]);
    execFileSync('git', ['push', '-q', repo, 'HEAD:refs/heads/main'], { cwd: root });
    execFileSync('git', ['--git-dir', repo, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
  }, 60_000);
  afterAll(() => g.cleanup());
  const works = (prefix: string) => {
    const v = spawnSync(join(prefix, 'bin', 'meshcap'), ['--version'], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^meshcap \d+\.\d+\.\d+/);
    const c = spawnSync(join(prefix, 'bin', 'meshcap'), ['compile', '-v', join(root, 'specs/istio-sidecar.intercept')], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/verified: IR = iptables output: equal over all packets/);
    expect(c.stdout).toContain('-A MESHCAP_OUTPUT');
  };

  it('npm pack of the git URL builds it (prepare), and npm install -g of that gives a working meshcap', () => {
    const packed = spawnSync(npm, ['pack', '--prefer-offline', '--json', '--pack-destination', g.dir, url], { cwd: g.dir, encoding: 'utf8', env });
    expect(packed.status, packed.stderr).toBe(0);
    // The build's own lines (prepare) come first on stdout, then npm's JSON.
    const info = (JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[])[0];
    expect(info.files.map((f) => f.path)).toContain('dist/src/cli/main.js');
    expect(info.files.map((f) => f.path)).toContain('backends/nftables/schema.validate.cjs');
    const prefix = join(g.dir, 'packed');
    const r = spawnSync(npm, ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, join(g.dir, info.filename)], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    works(prefix);
  }, 300_000);

  it('npm install -g git+URL: a working meshcap, or (npm 11 before its fix) a refusal that says why and what to run', () => {
    const prefix = join(g.dir, 'direct');
    const r = spawnSync(npm, ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, url], { encoding: 'utf8', env });
    if (r.status === 0) return works(prefix);
    expect(r.stderr).toContain('meshcap: the build needs its devDependencies (TypeScript) and npm did not install them');
    expect(r.stderr).toContain('npm install -g "$(npm pack git+URL | tail -1)"');
    expect(r.stderr).not.toContain('tsc: not found');
  }, 300_000);
});

