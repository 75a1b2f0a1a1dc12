// Kernel cost per new connection: 2,000 `connect()`s from one process, each a new TCP
// connection whose SYN meets the nat output chain, through the nftables output of the
// apply bench's policy (10,000 excluded CIDRs and 1,000 excluded ports, bench/nft-apply):
// `-O0` (one rule per CIDR, so the SYN is tested against about 10,000 rules), optimized
// (one rule against a named interval set) and the hand-written set-based text, and, for
// the floor, no rules at all. Each figure is the connecting process's CPU time (user +
// system, getrusage) over the 2,000 connects, per connect. The destination (10.250.0.1:80)
// is in no excluded range, so every rule is tested and the SYN is redirected to 15001 on
// the pod's loopback, where nothing listens. The connect is non-blocking: the SYN meets
// the output hook inside connect(), so its rules are charged to the process either way,
// and without rules (where no one answers the SYN) it does not wait for a timeout.
// Needs root (ip netns). The machine may be shared: the figures are noisy.
//
//   node dist/bench/nft-connect.bench.js [--runs N] [--connects N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compile } from '../src/compile/pipeline.js';
import { applyPolicy, handWritten } from './nft-apply.bench.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, connects: { type: 'string', default: '2000' }, cidrs: { type: 'string', default: '10000' }, ports: { type: 'string', default: '1000' } } });

/** The connecting process: N connects, then its own CPU time in microseconds. */
const CONNECTOR = `
import resource, socket, sys
n = int(sys.argv[1])
r0 = resource.getrusage(resource.RUSAGE_SELF)
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(('10.250.0.1', 80))
    s.close()
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1e6)
`;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** CPU microseconds per connect with `file` loaded (undefined: no rules) in a fresh namespace. */
function perConnect(file: string | undefined, json: boolean, connects: number): number {
  const ns = `meshcap-connect-${process.pid}`;
  sh('ip', ['netns', 'add', ns]);
  try {
    const ip = (...a: string[]) => sh('ip', ['netns', 'exec', ns, 'ip', ...a]);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    ip('link', 'set', 'd1', 'up');
    ip('addr', 'add', '10.255.0.1/8', 'dev', 'd0');
    ip('link', 'set', 'd0', 'up');
    if (file) sh('ip', ['netns', 'exec', ns, 'nft', ...(json ? ['-j'] : []), '-f', file]);
    return Number(sh('ip', ['netns', 'exec', ns, 'python3', '-c', CONNECTOR, String(connects)]).trim()) / connects;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function main(): void {
  const runs = Number(values.runs);
  const connects = Number(values.connects);
  const dir = mkdtempSync(join(tmpdir(), 'meshcap-connect-'));
  try {
    const policy = join(dir, 'connect-bench.intercept');
    writeFileSync(policy, applyPolicy(Number(values.cidrs), Number(values.ports)));
    const cases: [string, string | undefined, boolean][] = [['no rules', undefined, false]];
    for (const [label, optLevel] of [['meshcap compile -O0 (a rule per CIDR)', 0], ['meshcap compile (optimized)', 1]] as const) {
      const ctx = compile(policy, { backends: ['nftables'], verify: false, optLevel });
      const f = join(dir, `O${optLevel}.nft.json`);
      writeFileSync(f, ctx.artifacts[0].text);
      cases.push([label, f, true]);
    }
    const hand = join(dir, 'hand.nft');
    writeFileSync(hand, handWritten(Number(values.cidrs), Number(values.ports)));
    cases.push(['hand-written set-based nft text', hand, false]);
    console.log(`| ${connects} connects, ${values.cidrs} CIDRs, ${values.ports} ports, ${runs} runs | median CPU µs per connect | fastest |\n|---|---:|---:|`);
    for (const [label, f, json] of cases) {
      const us = Array.from({ length: runs }, () => perConnect(f, json, connects)).sort((a, b) => a - b);
      console.log(`| ${label} | ${us[us.length >> 1].toFixed(1)} | ${us[0].toFixed(1)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('nft-connect.bench.js')) main();
