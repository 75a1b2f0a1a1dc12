// Apply time of the nftables output: a policy with 10,000 excluded CIDRs (every other /24,
// none touching, so nothing merges away) and 1,000 excluded ports, loaded into a fresh
// network namespace each run, optimized (`compile`) vs `-O0` vs a hand-written set-based
// nft text of the same capture, in the same run. Each figure is the CPU time (user +
// system) of the loading `nft` process, from /usr/bin/time; the table gives the median
// and the fastest of `--runs`. Needs root (ip netns). The machine may be shared: the
// figures are noisy and docs/benchmarks.md says when they were taken.
//
//   node dist/bench/nft-apply.bench.js [--runs N] [--cidrs N] [--ports N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compile } from '../src/compile/pipeline.js';


export const cidrs = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${(i * 2) >> 8}.${(i * 2) & 255}.0/24`);
export const ports = (n: number): string[] => Array.from({ length: n }, (_, i) => String(20000 + i * 3));

/** The policy: Istio's default capture (IPv4 and IPv6) plus the two long lists. */
export function applyPolicy(c: number, p: number): string {
  return `policy apply-bench {\n  inbound {\n    capture ports *\n    exclude ports 15090, 15021, 15020\n  }\n  outbound {\n    capture cidrs *\n    exclude cidrs ${cidrs(c).join(', ')}\n    exclude ports ${ports(p).join(', ')}\n  }\n  families ipv4, ipv6\n}\n`;
}

/** What a person would write by hand for the same capture: one table, two sets, no dispatch. */
export function handWritten(c: number, p: number): string {
  return `table inet hand {
  set cidrs4 { type ipv4_addr; flags interval; elements = { ${cidrs(c).join(', ')} } }
  set ports { type inet_service; flags interval; elements = { ${ports(p).join(', ')} } }
  chain prerouting { type nat hook prerouting priority -100; policy accept;
    tcp dport { 15008, 15020, 15021, 15090 } return
    meta l4proto tcp redirect to :15006
  }
  chain output { type nat hook output priority -100; policy accept;
    th dport @ports return
    oifname "lo" ip saddr 127.0.0.6 return
    oifname "lo" ip6 saddr ::6 return
    meta skuid 1337 return
    meta skgid 1337 return
    oifname "lo" return
    ip daddr @cidrs4 return
    meta l4proto tcp redirect to :15001
  }
}
`;
}

function cpuOfLoad(file: string, json: boolean): number {
  const ns = `meshcap-bench-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'ip', 'netns', 'exec', ns, 'nft', ...(json ? ['-j'] : []), '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft -f ${file} failed: ${r.stderr}`);
    const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return (u + s) * 1000;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function main(): void {
  // Here, not at the top: bench/nft-connect imports this file with its own options.
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, cidrs: { type: 'string', default: '10000' }, ports: { type: 'string', default: '1000' } } });
  const runs = Number(values.runs);
  const nCidrs = Number(values.cidrs);
  const nPorts = Number(values.ports);
  const dir = mkdtempSync(join(tmpdir(), 'meshcap-apply-'));
  try {
    const policy = join(dir, 'apply-bench.intercept');
    writeFileSync(policy, applyPolicy(nCidrs, nPorts));
    const files: [string, string, boolean][] = [];
    for (const [label, optLevel] of [['meshcap compile (optimized)', 1], ['meshcap compile -O0', 0]] as const) {
      const ctx = compile(policy, { backends: ['nftables'], verify: false, optLevel });
      const f = join(dir, `O${optLevel}.nft.json`);
      writeFileSync(f, ctx.artifacts[0].text);
      files.push([label, f, true]);
    }
    const hand = join(dir, 'hand.nft');
    writeFileSync(hand, handWritten(nCidrs, nPorts));
    files.push(['hand-written set-based nft text', hand, false]);
    console.log(`| ${nCidrs} CIDRs, ${nPorts} ports, ${runs} runs | median CPU ms | fastest |\n|---|---:|---:|`);
    for (const [label, f, json] of files) {
      const ms = Array.from({ length: runs }, () => cpuOfLoad(f, json)).sort((a, b) => a - b);
      console.log(`| ${label} | ${ms[ms.length >> 1].toFixed(0)} | ${ms[0].toFixed(0)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('nft-apply.bench.js')) main();
