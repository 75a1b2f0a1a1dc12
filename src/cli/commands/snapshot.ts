import { takeSnapshot, type Where } from '../collect.js';
import { loadSnapshot } from '../../compile/snapshot.js';
import { snapshotSide, type LoadedSide } from '../../compile/sides.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { jsonWithKey, overwriteRefusals, writeAll } from '../write.js';
import type { Command } from './command.js';

/** --netns NAME or --pid PID (at most one), for the commands that read a live namespace. */
export function whereOf(values: { netns?: string; pid?: string }): Where {
  if (values.netns !== undefined && values.pid !== undefined) throw new UsageError('usage-conflicting-options', { detail: '--netns and --pid name the namespace two ways; give one' });
  if (values.pid !== undefined && !/^\d+$/.test(values.pid)) throw new UsageError('usage-bad-option-value', { detail: `--pid takes a process id, not '${values.pid}'` });
  return values.netns !== undefined ? { netns: values.netns } : values.pid !== undefined ? { pid: Number(values.pid) } : {};
}

/** `--live`: a snapshot of the namespace taken now, as a side (or why none could be taken). */
export function liveSide(w: Where): LoadedSide | Diagnostic {
  const t = takeSnapshot(w);
  if (!t.snapshot) return t.diagnostic!;
  const label = w.netns ? `live:netns ${w.netns}` : w.pid !== undefined ? `live:pid ${w.pid}` : 'live';
  return snapshotSide(label, JSON.stringify(t.snapshot, null, 1));
}

export const snapshotCmd: Command = {
  name: 'snapshot',
  summary: 'record everything that shapes capture in a network namespace, as one file',
  usage: `meshcap snapshot [--netns NAME | --pid PID] [-o FILE]

Reads, in the namespace (the current one by default; a pod's with --pid of one of its
processes): iptables-legacy and iptables-nft rules of both families, native nft tables,
ip rule, local routes (TPROXY), lo's addresses, the sysctls that matter and the tools'
versions. Rules of other tools are kept: they run on the same hooks. The file
(docs/snapshot.md) is an input of verify --against, trace and diff like any rule file.

Options:
  --netns NAME   a named namespace (ip netns)
  --pid PID      the namespace of a process
  -o FILE        write the snapshot there (default: stdout); an existing file only
                 when it is a snapshot
  --force        with -o: replace any existing file

Exit: 0 taken (findings about the rules, such as rules split between iptables
flavours, are printed on stderr), 2 the namespace could not be read, 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { netns: { type: 'string' }, pid: { type: 'string' }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 0, 'snapshot takes no arguments');
    const t = takeSnapshot(whereOf(values));
    if (!t.snapshot) {
      report(io, 'text', [t.diagnostic!], new Map());
      return EXIT.badInput;
    }
    const text = JSON.stringify(t.snapshot, null, 1) + '\n';
    const name = values.output ?? 'snapshot.json';
    const l = loadSnapshot(name, text);
    // What it holds, and what meshcap cannot read of it (the snapshot is kept whole).
    if (l.diagnostics.length) report(io, 'text', l.diagnostics, l.sources);
    if (values.output === undefined) io.out(text);
    else {
      const refused = overwriteRefusals([values.output], !!values.force, (_p, old) => jsonWithKey(old, 'meshcapSnapshot'));
      const d = refused.length ? refused : [writeAll([[values.output, text]])].filter((x) => x !== undefined);
      if (d.length) {
        report(io, 'text', d, new Map());
        return EXIT.badInput;
      }
      const rules = (x: string, nft: boolean) => (nft ? x.match(/"rule":/g) : x.match(/^-A /gm))?.length ?? 0;
      const held = t.snapshot.sources.map((s) => `${s.name}: ${s.error ? `not read (${s.error})` : `${rules(s.text ?? '', s.format === 'nft-json')} rules`}`);
      io.err(`wrote ${values.output} (${held.join('; ')})\n`);
    }
    return EXIT.ok;
  },
};
