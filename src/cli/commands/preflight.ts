import { spawnSync } from 'node:child_process';
import { hasErrors, diag, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { compile } from '../../compile/pipeline.js';
import { needsOf, probe, type Need } from '../../../backends/needs.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import type { Command } from './command.js';
import { stateChecks } from '../preflight-state.js';

type Fw = 'iptables-legacy' | 'iptables-nft' | 'nftables';

const HINT: Record<string, string> = {
  owner: 'load xt_owner (modprobe xt_owner), or build the kernel with CONFIG_NETFILTER_XT_MATCH_OWNER',
  tproxy: 'load xt_TPROXY and nf_tproxy_ipv4/ipv6 (CONFIG_NETFILTER_XT_TARGET_TPROXY), or use inbound { mode redirect }',
  socket: 'load xt_socket (CONFIG_NETFILTER_XT_MATCH_SOCKET)',
  'ct-zone': 'load xt_CT with zones (CONFIG_NF_CONNTRACK_ZONES), or leave DNS capture off',
  multiport: 'load xt_multiport (CONFIG_NETFILTER_XT_MATCH_MULTIPORT)',
  'policy-routing': 'the kernel needs CONFIG_IP_MULTIPLE_TABLES (and IPV6_MULTIPLE_TABLES) for TPROXY',
};

/** Run a probe in a namespace of its own (inside --netns when given): nothing is changed. */
function tryProbe(cmd: string, netns: string | undefined): { ok: boolean; reason: string } {
  const inner = ['unshare', '-n', 'sh', '-c', `ip link set lo up && ${cmd}`];
  const full = netns ? ['ip', 'netns', 'exec', netns, ...inner] : inner;
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', timeout: 20000 });
  if (r.error) return { ok: false, reason: r.error.message };
  return { ok: r.status === 0, reason: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n')[0] };
}

/** The needs of a policy's rules that `firewall` cannot meet here, as diagnostics. */
export function preflight(needs: Need[], firewall: Fw, netns?: string): { checked: { need: Need; family: string; ok: boolean }[]; missing: Diagnostic[] } {
  const checked: { need: Need; family: string; ok: boolean }[] = [];
  const missing: Diagnostic[] = [];
  for (const n of needs) {
    for (const family of n.families) {
      const r = tryProbe(probe(n.feature, firewall, family), netns);
      checked.push({ need: n, family, ok: r.ok });
      if (!r.ok) missing.push(diag('rules-preflight-missing', undefined, { firewall: n.feature === 'policy-routing' ? 'ip' : firewall, family, what: n.what, reason: r.reason, from: n.from.join(', ') || 'the policy', hint: HINT[n.feature] ?? 'see the kernel configuration and the tools installed' }));
    }
  }
  return { checked, missing };
}

export const preflightCmd: Command = {
  name: 'preflight',
  summary: "check that this kernel and its tools have what a policy's rules need, before applying them",
  usage: `meshcap preflight POLICY [--firewall iptables-legacy|iptables-nft|nftables] [--netns NAME]

Lists what the compiled rules need (NAT REDIRECT, owner matches, port lists, TPROXY and its
policy routing, transparent socket matches, conntrack zones, marks) and which policy
lines need it, and checks each by loading the smallest rule that uses it, with the
firewall's own tool, in a throwaway network namespace (inside --netns NAME when given):
nothing on the node changes.

With --netns NAME it also reads that namespace's own state: other tools' rules already on
the policy's hooks outside the chosen firewall (a warning: they run beside meshcap's),
TPROXY's policy routing against the ip rules and routes there (the mark or table taken,
a rule evaluated first: an error), and the sysctls the proofs assume (route_localnet,
disable_ipv6: a warning).

Exit: 0 all there (warnings may be printed), 1 something is missing or collides (each
with the rules that need it and a hint), 2 unreadable policy, 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { firewall: { type: 'string' }, netns: { type: 'string' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, 'preflight takes one POLICY');
    const firewall = oneOf('firewall', values.firewall, ['iptables-legacy', 'iptables-nft', 'nftables'] as const, 'iptables-nft');
    if (process.getuid?.() !== 0) throw new UsageError('usage-bad-argument', { detail: 'preflight loads rules into a throwaway namespace: run it as root' });
    const ctx = compile(positionals[0], { backends: [], verify: false, until: 'check-ir' });
    const sources = new Map(ctx.loaded?.source ? [[positionals[0], ctx.loaded.source]] : []);
    if (hasErrors(ctx.diagnostics) || !ctx.ir) {
      report(io, 'text', ctx.diagnostics, sources);
      return EXIT.badInput;
    }
    const needs = needsOf(ctx.ir);
    const r = preflight(needs, firewall, values.netns);
    for (const c of r.checked) io.out(`${c.ok ? 'ok     ' : 'MISSING'} ${c.need.what} (${c.family}; ${c.need.feature === 'policy-routing' ? 'ip' : firewall})${c.need.from.length ? `: ${c.need.from.join(', ')}` : ''}\n`);
    const state = values.netns !== undefined ? stateChecks(ctx.ir, firewall, { netns: values.netns }) : { checks: [], findings: [] };
    for (const c of state.checks) io.out(`${c.ok ? 'ok     ' : 'WARNING'} ${c.line}\n`.replace(/^WARNING (TPROXY)/, 'CONFLICT $1'));
    const findings = [...r.missing, ...state.findings];
    if (findings.length) report(io, 'text', findings, sources);
    return hasErrors(findings) ? EXIT.findings : EXIT.ok;
  },
};
