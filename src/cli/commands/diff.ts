import { hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { SourceFile } from '../../source.js';
import { equivalent } from '../../verify/engine.js';
import { findingsOf, loadSide, type LoadedSide } from '../../compile/sides.js';
import { rulesSide } from '../../verify/side.js';
import { outcomeText } from '../../verify/compare.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { undecidedDiagnostics } from '../undecided.js';
import { decidedLines, stepJson } from '../trace-render.js';
import { COUNT_LIMIT, totalText } from './verify.js';
import { packetText } from '../../verify/compare.js';
import type { Command } from './command.js';
import { liveSide, whereOf } from './snapshot.js';

export const diffCmd: Command = {
  name: 'diff',
  summary: 'list the packet classes whose outcome changes between two policies or rule sets',
  usage: `meshcap diff [options] A B
       meshcap diff [options] --live [--netns NAME | --pid PID] B

A and B are each a policy (.intercept, .yaml) or a rule-set file (iptables-restore or
iptables-save text, nft JSON or an nft text listing, a meshcap shell script, or a
snapshot: meshcap snapshot). With --live, A is what the namespace runs now (a snapshot
taken in place): the diff is what applying B would change. Prints every class of
packets whose outcome changes, merged into readable ranges, e.g.
  outbound TCP (new) uid ≠ 1337 to 10.0.0.0/8 port 3306: redirect 15001 → pass
This is what a reviewer wants to see on a pull request that changes a policy.

Options:
  --max N      list at most N classes (default 100); the headline counts them all
  --format F   text (default) or json
  --live       A is the namespace now (the current one, or --netns NAME / --pid PID)

Exit: 0 no packet changes, 1 some do, 2 unreadable input or undecided (rules-undecided),
3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { max: { type: 'string' }, format: { type: 'string' }, live: { type: 'boolean' }, netns: { type: 'string' }, pid: { type: 'string' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (!values.live && (values.netns !== undefined || values.pid !== undefined)) throw new UsageError('usage-conflicting-options', { detail: '--netns and --pid go with --live' });
    if (values.live) expectArgs(positionals, 1, 'diff --live takes one file, B: A is the namespace now');
    else expectArgs(positionals, 2, 'diff takes two files, A and B');
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const max = values.max === undefined ? 100 : Number(values.max);
    if (!Number.isInteger(max) || max < 1) throw new UsageError('usage-bad-option-value', { detail: '--max takes a whole number >= 1' });
    let A: LoadedSide;
    if (values.live) {
      const l = liveSide(whereOf(values));
      if (!('label' in l)) {
        report(io, 'text', [l], new Map());
        return EXIT.badInput;
      }
      A = l;
    } else A = loadSide(positionals[0]);
    const fa = values.live ? A.label : positionals[0];
    const fb = positionals[values.live ? 0 : 1];
    const ds: Diagnostic[] = [];
    const sources = new Map<string, SourceFile>();
    const B = loadSide(fb);
    for (const s of [A, B]) {
      ds.push(...s.diagnostics.filter((d) => d.severity === 'error'));
      s.sources.forEach((v, k) => sources.set(k, v));
    }
    if (hasErrors(ds) || !A.rs || !B.rs) {
      report(io, 'text', ds, sources);
      return EXIT.badInput;
    }
    const findings = [A, B].flatMap(findingsOf);
    if (findings.length) report(io, 'text', findings, sources);
    // Rule files carry one family; compare the families either side speaks for.
    const fams = (s: typeof A) => (s.meaning ? (['ipv4', 'ipv6'] as const) : s.families);
    const families = [...new Set([...fams(A), ...fams(B)])].filter((f) => (A.meaning || A.families.includes(f)) && (B.meaning || B.families.includes(f)));
    const r = equivalent(rulesSide(fa, A.rs), rulesSide(fb, B.rs), { families, maxDifferences: max, count: COUNT_LIMIT });
    if (format === 'json') {
      io.out(JSON.stringify({ result: r.result, families, classes: r.classes, ...(r.result === 'different' ? { total: r.total, totalExact: r.totalExact } : {}), ...(r.reason ? { reason: r.reason } : {}), ...(r.unsure ? { unknown: r.unsure.map((u) => ({ rule: u.rule, classes: u.classes, packet: u.packet })) } : {}), changes: r.differences.map((d) => ({ description: d.description, packet: d.packet, before: d.a, after: d.b, decidedBy: { before: d.by?.a ? stepJson(d.by.a) : null, after: d.by?.b ? stepJson(d.by.b) : null } })) }, null, 2) + '\n');
    } else if (r.result === 'equal') {
      io.out(`no packet changes (${families.join(', ')}; ${r.classes} packet classes compared)\n`);
    } else if (r.result === 'undecided') {
      io.out(`undecided: ${r.reason}\n`);
    } else {
      io.out(`${totalText(r)} packet class(es) change from ${fa} to ${fb}${r.total > r.differences.length ? ` (the first ${r.differences.length} below; --max N for more)` : ''}:\n`);
      for (const d of r.differences) {
        io.out(`  ${d.description}: ${outcomeText(d.a, d.packet)} → ${outcomeText(d.b, d.packet)}\n    e.g. ${packetText(d.packet)}\n`);
        io.out(decidedLines(d.by, 'A', 'B', '    '));
      }
    }
    // The rules it depends on (or the limit it reached), at their file:line, on stderr.
    if (r.result === 'undecided') report(io, 'text', undecidedDiagnostics(r, [A, B].flatMap((s) => s.diagnostics)), sources);
    return r.result === 'equal' ? EXIT.ok : r.result === 'different' ? EXIT.findings : EXIT.badInput;
  },
};
