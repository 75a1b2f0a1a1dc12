import { hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { SourceFile } from '../../source.js';
import { equivalent } from '../../verify/engine.js';
import { findingsOf, loadSide, mergeRuleSets, type LoadedSide } from '../../compile/sides.js';
import { liveSide, whereOf } from './snapshot.js';
import { rulesSide } from '../../verify/side.js';
import { outcomeText, packetText } from '../../verify/compare.js';
import { restrictTo } from '../../../backends/index.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { undecidedDiagnostics } from '../undecided.js';
import { decidedLines, renderTrace, stepJson } from '../trace-render.js';
import type { Command } from './command.js';

/** How many differing classes verify and diff count (and report the count of) at most. */
export const COUNT_LIMIT = 10000;

/** The headline count: exact, or a lower bound when the search stopped counting. */
export function totalText(r: { total: number; totalExact: boolean }): string {
  return r.totalExact ? String(r.total) : `at least ${r.total}`;
}

export const verifyCmd: Command = {
  name: 'verify',
  summary: 'prove a policy equal to an existing rule set, or show where they differ',
  usage: `meshcap verify [options] POLICY --against FILE [--against FILE]
       meshcap verify [options] POLICY --live [--netns NAME | --pid PID]

Compares what the policy compiles to with rule sets that exist elsewhere (what a node
runs today: iptables-save output, or iptables-restore input such as istio-iptables
writes), over every packet. Give the IPv4 and IPv6 files as two --against options; the
family of each is taken from its name (ip6tables, v6) or its addresses, or --family.
Only the families given are compared. FILE may be a snapshot (meshcap snapshot): all
that a namespace runs; --live takes one now, of the current namespace or the one given.

Options:
  --against FILE     a rule set (repeatable)
  --family F         ipv4 or ipv6, for every --against file
  --live             compare with what the namespace runs now (a snapshot taken in place)
  --netns NAME, --pid PID   (with --live) the namespace
  --max N            show at most N differing packet classes (default 5); the
                     headline counts them all
  --format F         text (default) or json

Exit: 0 equal, 1 different (with counterexamples), 2 unreadable input or undecided
(rules-undecided at each rule it depends on), 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      against: { type: 'string', multiple: true },
      family: { type: 'string' },
      max: { type: 'string' },
      format: { type: 'string' },
      live: { type: 'boolean' },
      netns: { type: 'string' },
      pid: { type: 'string' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, 'verify takes one POLICY');
    const against = values.against ?? [];
    if (values.live && against.length) throw new UsageError('usage-conflicting-options', { detail: '--live compares with the namespace itself; --against with files: give one of them' });
    if (!values.live && (values.netns !== undefined || values.pid !== undefined)) throw new UsageError('usage-conflicting-options', { detail: '--netns and --pid go with --live' });
    if (!against.length && !values.live) throw new UsageError('usage-missing-argument', { detail: 'verify needs --against FILE or --live' });
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const family = values.family === undefined ? undefined : oneOf('family', values.family, ['ipv4', 'ipv6'] as const, 'ipv4');
    const max = values.max === undefined ? 5 : Number(values.max);
    if (!Number.isInteger(max) || max < 1) throw new UsageError('usage-bad-option-value', { detail: '--max takes a whole number >= 1' });

    const ds: Diagnostic[] = [];
    const sources = new Map<string, SourceFile>();
    const pol = loadSide(positionals[0]);
    ds.push(...pol.diagnostics);
    pol.sources.forEach((v, k) => sources.set(k, v));
    let others: LoadedSide[];
    if (values.live) {
      const l = liveSide(whereOf(values));
      if (!('label' in l)) {
        report(io, 'text', [l], new Map());
        return EXIT.badInput;
      }
      others = [l];
      against.push(l.label);
    } else others = against.map((f) => loadSide(f, family));
    for (const o of others) {
      ds.push(...o.diagnostics);
      o.sources.forEach((v, k) => sources.set(k, v));
    }
    if (hasErrors(ds) || !pol.rs || others.some((o) => !o.rs)) {
      report(io, 'text', ds, sources);
      return EXIT.badInput;
    }
    if (others.some((o) => !o.families.length || o.meaning)) throw new UsageError('usage-bad-option-value', { detail: '--against takes rule-set files; to compare two policies use meshcap diff' });
    // Two files for one family would run one after the other in an order no file says.
    others.forEach((o, i) => {
      const j = others.findIndex((p, k) => k < i && p.families.some((f) => o.families.includes(f)));
      if (j >= 0) throw new UsageError('usage-conflicting-options', { detail: `${against[j]} and ${against[i]} both hold ${o.families.filter((f) => others[j].families.includes(f)).join(' and ')} rules; give one file per family, or a snapshot of the node (meshcap snapshot), which orders its sources as the kernel runs them` });
    });
    const findings = others.flatMap(findingsOf);
    if (findings.length) report(io, 'text', findings, sources);
    const families = [...new Set(others.flatMap((o) => o.families))];
    const theirs = mergeRuleSets(against.join(' + '), others.map((o) => o.rs!));
    const mine = restrictTo(pol.rs, undefined);
    const r = equivalent(rulesSide(positionals[0], mine), rulesSide(theirs.name, theirs), { families, maxDifferences: max, count: COUNT_LIMIT });
    if (format === 'json') {
      io.out(
        JSON.stringify(
          {
            result: r.result,
            families,
            classes: r.classes,
            ...(r.result === 'different' ? { total: r.total, totalExact: r.totalExact } : {}),
            ms: Number(r.ms.toFixed(3)),
            ...(r.reason ? { reason: r.reason } : {}),
            ...(r.unsure ? { unknown: r.unsure.map((u) => ({ rule: u.rule, classes: u.classes, packet: u.packet })) } : {}),
            differences: r.differences.map((d) => ({ description: d.description, packet: d.packet, policy: d.a, against: d.b, decidedBy: { policy: d.by?.a ? stepJson(d.by.a) : null, against: d.by?.b ? stepJson(d.by.b) : null } })),
            counterexample: r.counterexample
              ? { packet: r.counterexample.packet, policy: { outcome: r.counterexample.a.outcome, path: r.counterexample.a.path.map(stepJson) }, against: { outcome: r.counterexample.b.outcome, path: r.counterexample.b.path.map(stepJson) } }
              : null,
          },
          null,
          2,
        ) + '\n',
      );
    } else if (r.result === 'equal') {
      io.out(`equal: ${positionals[0]} and ${theirs.name} give the same outcome for every ${families.join(' and ')} packet (${r.classes} packet classes)\n`);
    } else if (r.result === 'undecided') {
      io.out(`undecided: ${r.reason}\n`);
    } else {
      io.out(`different: ${totalText(r)} packet class(es) are treated differently${r.total > r.differences.length ? ` (the first ${r.differences.length} below; --max N for more)` : ''}\n\n`);
      for (const d of r.differences) {
        io.out(`  ${d.description}: ${outcomeText(d.a, d.packet)} (policy) → ${outcomeText(d.b, d.packet)} (${theirs.name})\n    e.g. ${packetText(d.packet)}\n`);
        io.out(decidedLines(d.by, 'policy', 'against', '    '));
      }
      const c = r.counterexample!;
      io.out(`\ncounterexample: ${packetText(c.packet)}\npolicy:\n${renderTrace(c.a, '  ')}${theirs.name}:\n${renderTrace(c.b, '  ')}`);
    }
    // The rules it depends on (or the limit it reached), at their file:line, on stderr.
    if (r.result === 'undecided') report(io, 'text', undecidedDiagnostics(r, [pol, ...others].flatMap((s) => s.diagnostics)), sources);
    return r.result === 'equal' ? EXIT.ok : r.result === 'different' ? EXIT.findings : EXIT.badInput;
  },
};
