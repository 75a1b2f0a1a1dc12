// `meshcap preflight --netns NAME`: the target namespace's own state, beside the probes
// (which run in a throwaway namespace and so see only the kernel and the tools). Read
// there: what other tools' rules already sit on the hooks the policy uses, in another
// iptables flavour or in native nft tables (they run beside meshcap's, the last
// registered first: docs/snapshot.md); whether TPROXY's policy routing would collide
// with `ip rule`s and routes already there (the mark or the table taken, a rule that
// would be evaluated first); and the sysctls the proofs' facts depend on.
import { nftTableName } from '../../backends/nftables/emit.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Family, RuleSet } from '../ir/types.js';
import { exec, type Where } from './collect.js';

export type Firewall = 'iptables-legacy' | 'iptables-nft' | 'nftables';

export interface StateCheck {
  ok: boolean;
  line: string;
}

const HOOK_OF: Record<string, string> = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' };

/** `table hook` -> rule count, of one iptables-save text (built-in chains only: those are hooked). */
function iptablesHooks(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let table = '';
  for (const line of text.split('\n')) {
    const t = /^\*(\w+)/.exec(line);
    if (t) table = t[1];
    const a = /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)\s/.exec(line);
    if (a) out.set(`${table} ${HOOK_OF[a[1]]}`, (out.get(`${table} ${HOOK_OF[a[1]]}`) ?? 0) + 1);
  }
  return out;
}

/** Native nft base chains with rules: `family table/chain` -> hook. */
function nftHooks(json: string, skip: Set<string>): { where: string; hook: string; rules: number }[] {
  let doc: { nftables?: Record<string, Record<string, unknown>>[] };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return [];
  }
  const chains = new Map<string, { where: string; hook: string; rules: number }>();
  for (const o of doc.nftables ?? []) {
    const c = o.chain;
    if (c && typeof c.hook === 'string' && !skip.has(`${String(c.family)} ${String(c.table)}`)) chains.set(`${String(c.family)} ${String(c.table)} ${String(c.name)}`, { where: `${String(c.family)} ${String(c.table)}/${String(c.name)}`, hook: c.hook, rules: 0 });
    const r = o.rule;
    const hit = r && chains.get(`${String(r.family)} ${String(r.table)} ${String(r.chain)}`);
    if (hit) hit.rules++;
  }
  return [...chains.values()].filter((c) => c.rules > 0);
}

/** The hooks the policy's rules use, per family (`nat output`). */
function policyHooks(ir: RuleSet): Map<Family, Set<string>> {
  const out = new Map<Family, Set<string>>();
  for (const t of ir.tables) {
    for (const f of t.family === 'inet' ? (['ipv4', 'ipv6'] as const) : [t.family]) {
      for (const c of t.chains) if (c.base && c.rules.length) (out.get(f) ?? out.set(f, new Set()).get(f)!).add(`${t.name} ${c.base.hook}`);
    }
  }
  return out;
}

/** The checks of the namespace's state, as printed lines and findings. */
export function stateChecks(ir: RuleSet, firewall: Firewall, w: Where): { checks: StateCheck[]; findings: Diagnostic[] } {
  const checks: StateCheck[] = [];
  const findings: Diagnostic[] = [];
  const where = w.netns ? `netns ${w.netns}` : w.pid !== undefined ? `pid ${w.pid}` : 'this namespace';
  const hooks = policyHooks(ir);
  const allHooks = new Set([...hooks.values()].flatMap((s) => [...s]));

  // Other rules on the same hooks, in the sources meshcap will not write.
  const others: string[] = [];
  for (const [fam, tool] of [['ipv4', 'iptables'], ['ipv6', 'ip6tables']] as const) {
    const mine = hooks.get(fam);
    if (!mine?.size) continue;
    for (const flavour of ['legacy', 'nft'] as const) {
      if (firewall === `iptables-${flavour}`) continue;
      const r = exec(w, [`${tool}-${flavour}-save`]);
      if (!r.ok) continue;
      for (const [th, n] of iptablesHooks(r.out)) if (mine.has(th)) {
          const [table, hook] = th.split(' ');
          others.push(`${tool}-${flavour} ${table} ${hook.toUpperCase()} (${n} rule${n === 1 ? '' : 's'})`);
        }
    }
  }
  const nft = exec(w, ['nft', '-j', 'list', 'ruleset']);
  if (nft.ok) {
    // iptables-nft's own tables are in the listing too: read above, from its save format.
    const skip = new Set(['ip nat', 'ip mangle', 'ip raw', 'ip filter', 'ip security', 'ip6 nat', 'ip6 mangle', 'ip6 raw', 'ip6 filter', 'ip6 security', ...(firewall === 'nftables' ? [`inet ${nftTableName(ir)}`] : [])]);
    for (const c of nftHooks(nft.out, skip)) if ([...allHooks].some((h) => h.endsWith(` ${c.hook}`))) others.push(`nft ${c.where} on ${c.hook} (${c.rules} rule${c.rules === 1 ? '' : 's'})`);
  }
  if (others.length) {
    checks.push({ ok: false, line: `other rules on the policy's hooks in ${where}: ${others.join('; ')}` });
    findings.push(diag('rules-preflight-other-rules', undefined, { where, firewall, rules: others.join('; ') }));
  } else checks.push({ ok: true, line: `no other tool's rules on the policy's hooks (${[...allHooks].join(', ') || 'none'}) outside ${firewall} in ${where}` });

  // TPROXY's policy routing: `ip rule add fwmark M lookup T` and a local default route in T.
  const tp = ir.routing.tproxy;
  if (tp) {
    for (const fam of tp.families) {
      const v = fam === 'ipv6' ? '-6' : '-4';
      const rules = exec(w, ['ip', v, 'rule', 'show']);
      const routes = exec(w, ['ip', v, 'route', 'show', 'table', String(tp.table)]);
      const problems: string[] = [];
      const parsed = (rules.ok ? rules.out : '').split('\n').flatMap((l) => {
        const m = /^(\d+):\s+(.*)$/.exec(l.trim());
        return m ? [{ pref: Number(m[1]), text: m[2].trim() }] : [];
      });
      const ours = (t: string) => new RegExp(`fwmark (0x0*${tp.mark.toString(16)}|${tp.mark})(/0x0*f+)? lookup ${tp.table}\\b`).test(t);
      for (const r of parsed) {
        if (ours(r.text)) continue;
        const mark = /fwmark (0x[0-9a-f]+|\d+)/.exec(r.text);
        const lookup = /lookup (\S+)/.exec(r.text)?.[1];
        if (lookup === String(tp.table)) problems.push(`routing table ${tp.table} is already used by '${r.pref}: ${r.text}'`);
        else if (mark && Number(mark[1]) === tp.mark) problems.push(`mark 0x${tp.mark.toString(16)} already routes elsewhere: '${r.pref}: ${r.text}'`);
      }
      // Without a priority the kernel puts the new rule just before the second rule
      // (net/core/fib_rules.c, fib_default_rule_pref): what sits at or before it runs first.
      const second = parsed.filter((r) => !ours(r.text))[1];
      const pref = second && second.pref > 0 ? second.pref - 1 : 0;
      const before = parsed.filter((r) => !ours(r.text) && r.pref <= pref && !/lookup local\b/.test(r.text) && !/fwmark/.test(r.text));
      for (const r of before) problems.push(`'${r.pref}: ${r.text}' is evaluated before the TPROXY rule (priority ${pref}) and may route marked packets elsewhere`);
      const foreign = (routes.ok ? routes.out : '').split('\n').filter((l) => l.trim() && !/^local (default|0\.0\.0\.0\/0|::\/0) dev lo\b/.test(l.trim()));
      if (foreign.length) problems.push(`routing table ${tp.table} already holds other routes: ${foreign.map((l) => `'${l.trim()}'`).join(', ')}`);
      if (problems.length) {
        checks.push({ ok: false, line: `TPROXY policy routing (${fam}; fwmark 0x${tp.mark.toString(16)} lookup ${tp.table}) in ${where}: ${problems.join('; ')}` });
        for (const p of problems) findings.push(diag('rules-preflight-routing', undefined, { family: fam, mark: `0x${tp.mark.toString(16)}`, table: String(tp.table), where, detail: p }));
      } else checks.push({ ok: true, line: `TPROXY policy routing (${fam}; fwmark 0x${tp.mark.toString(16)} lookup ${tp.table}): the mark, the table and priority ${pref} are free in ${where}` });
    }
  }

  // The sysctls the proofs' facts assume (docs/facts.md F4, F5).
  const families = [...hooks.keys()];
  if (families.includes('ipv4')) {
    const r = exec(w, ['sysctl', '-n', 'net.ipv4.conf.all.route_localnet']);
    if (r.ok && r.out.trim() === '1') {
      checks.push({ ok: false, line: `net.ipv4.conf.all.route_localnet is 1 in ${where}` });
      findings.push(diag('rules-preflight-sysctl', undefined, { name: 'net.ipv4.conf.all.route_localnet', value: '1', where, detail: 'packets from 127.0.0.0/8 can leave through other interfaces than lo, which the proofs leave out (facts F4, F5): verify and compile say nothing about them here' }));
    } else if (r.ok) checks.push({ ok: true, line: `net.ipv4.conf.all.route_localnet is ${r.out.trim()} in ${where} (the proofs' facts F4, F5 hold)` });
  }
  if (families.includes('ipv6')) {
    const r = exec(w, ['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6']);
    if (r.ok && r.out.trim() === '1') {
      checks.push({ ok: false, line: `net.ipv6.conf.all.disable_ipv6 is 1 in ${where}` });
      findings.push(diag('rules-preflight-sysctl', undefined, { name: 'net.ipv6.conf.all.disable_ipv6', value: '1', where, detail: "IPv6 is off: the policy's IPv6 rules load but nothing reaches them" }));
    }
  }
  return { checks, findings };
}
