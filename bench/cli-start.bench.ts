// Wall time of whole `meshcap` invocations, process start included: what a CI job that
// lints or compiles one policy per step waits for. Each command runs `--runs` times after
// one warm-up run (which fills the OS file cache); the table gives the median and the
// fastest run. `npm run bench` builds and runs it; docs/benchmarks.md has the figures.
//
//   node dist/bench/cli-start.bench.js [--runs N]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'src', 'cli', 'main.js');
const spec = join(root, 'specs', 'istio-sidecar.intercept');

const commands: [string, string[]][] = [
  ['node -e 0 (the floor)', ['-e', '0']],
  ['meshcap --version', [bin, '--version']],
  ['meshcap check', [bin, 'check', spec]],
  ['meshcap compile (iptables, ip6tables)', [bin, 'compile', spec]],
  ['meshcap compile (all four backends)', [bin, 'compile', '--backend', 'iptables,ip6tables,nftables,shell', spec]],
];

const rows: string[] = [];
for (const [label, args] of commands) {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  rows.push(`| ${label.padEnd(40)} | ${times[Math.floor(times.length / 2)].toFixed(0).padStart(9)} | ${times[0].toFixed(0).padStart(6)} |`);
}
process.stdout.write(`meshcap CLI start: ${runs} runs per command after one warm-up, Node ${process.version}\n\n`);
process.stdout.write(`| ${'command'.padEnd(40)} | median ms | min ms |\n|${'-'.repeat(42)}|----------:|-------:|\n${rows.join('\n')}\n`);
