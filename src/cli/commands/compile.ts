import { join } from 'node:path';
import { backends } from '../../../backends/index.js';
import { DEFAULT_NFT_VERSION, NFT_VERSIONS, resolveNftVersion } from '../../../backends/nftables/versions.js';
import { FIREWALLS } from '../../../backends/shell/emit.js';
import { codeClass } from '../../diagnostics/catalogue.js';
import { diag, didYouMean, hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { formats } from '../../diagnostics/render.js';
import { compile, dumpable, dumpAfter as dumpOf, LAYOUTS, type CompileContext, type VerifyFailure } from '../../compile/pipeline.js';
import { finalIr, optimizePasses } from '../../optimize/passes.js';
import { costs } from '../../compile/cost.js';
import type { Family, RuleSet } from '../../ir/types.js';
import { packetText } from '../../verify/compare.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, progressLine, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { renderTrace } from '../trace-render.js';
import type { Command } from './command.js';
import { ensureDir, jsonWithKey, overwriteRefusals, writeAll } from '../write.js';
import { ownedByMeshcap, summaryName, summaryText } from '../summary.js';

/** The key that marks a --verify-report file as meshcap's (replaced without --force). */
const REPORT_KEY = 'meshcapVerifyReport';

export const compileCmd: Command = {
  name: 'compile',
  summary: 'compile a policy to netfilter rules, verified',
  usage: `meshcap compile [options] POLICY|-

Compiles the policy to the chosen backends and proves, on every run and for every
packet, that the IR does what the policy means and that each output, read back by its
own importer, does what the IR does. A failure prints a counterexample packet and both
traces (exit 1).

Options:
  --backend B        ${backends.map((b) => b.name).join(', ')} (repeatable or comma separated;
                     default: iptables and ip6tables, for the policy's families)
  -o, --out DIR      write every artifact to DIR (NAME.iptables.rules, NAME.ip6tables.rules, NAME.nft.json),
                     with NAME.summary.json (each file's SHA-256 and how to load it, the proofs),
                     instead of stdout
  --force            replace existing files meshcap did not write (or that changed since)
  --emit ir          print (or write) the IR as JSON as well
  --no-comments      omit the provenance comment on each rule
  --nft-version V    nft release to target (default ${DEFAULT_NFT_VERSION}; known: ${Object.keys(NFT_VERSIONS).join(', ')})
  --counters         nftables: a counter on every rule
  --firewall F       shell: ${FIREWALLS.join(', ')} (default auto: chosen on the node)
  --no-verify        skip the round-trip check
  --verify-report F  write the verification figures as JSON to F
  -O LEVEL           0: no optimizer passes; 1 (default): all of them (${optimizePasses.map((p) => p.name).join(', ')}), each proven
  --layout L         iptables and shell: istio (default: the lowered IR, Istio's chains) or optimized (the optimizer's IR)
  --cost             print, per backend, the rules a packet is tested against (worst case and mean over every packet class) to stderr
  --timings          print each pass's time to stderr
  --dump-after PASS  print the state after PASS (${dumpable().join(', ')}) and stop
  --format F         diagnostics: text (default), json, sarif, github
  -v, --verbose      say what was verified, on stderr

Exit: 0 compiled and verified, 1 verification failed, 2 invalid policy, 3 usage error.
Nothing is written unless every step succeeded.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      backend: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      emit: { type: 'string' },
      'no-comments': { type: 'boolean' },
      counters: { type: 'boolean' },
      firewall: { type: 'string' },
      'nft-version': { type: 'string' },
      'no-verify': { type: 'boolean' },
      'verify-report': { type: 'string' },
      timings: { type: 'boolean' },
      cost: { type: 'boolean' },
      'dump-after': { type: 'string' },
      'opt-level': { type: 'string', short: 'O' },
      layout: { type: 'string' },
      format: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, 'compile takes one POLICY');
    const format = oneOf('format', values.format, formats, 'text');
    if (values.emit !== undefined && values.emit !== 'ir') throw new UsageError('usage-bad-option-value', { detail: `--emit takes 'ir' (got '${values.emit}')` });
    const dumpAfter = values['dump-after'];
    if (dumpAfter && !dumpable().includes(dumpAfter)) throw new UsageError('usage-bad-option-value', { detail: `--dump-after takes one of: ${dumpable().join(', ')}` });
    const optLevel = oneOf('opt-level', values['opt-level'], ['0', '1'], '1') === '0' ? 0 : 1;
    const layout = oneOf('layout', values.layout, LAYOUTS, 'istio');
    const given = (values.backend ?? []).flatMap((b) => b.split(','));
    if (given.some((b) => b.trim() === '')) throw new UsageError('usage-bad-option-value', { detail: `--backend takes backend names separated by commas (${backends.map((b) => b.name).join(', ')}); an empty name is not one` });
    let names = given;
    const known = backends.map((b) => b.name);
    for (const n of names) if (!known.includes(n)) throw new UsageError(diag('usage-unknown-backend', undefined, { name: n, backends: known.join(', ') }, didYouMean(n, known)));
    const file = positionals[0];
    const defaulted = names.length === 0;
    // By default: the iptables documents of the policy's families (nftables and shell on request).
    if (defaulted) names = ['iptables', 'ip6tables'];
    const asked = values['nft-version'] ?? DEFAULT_NFT_VERSION;
    const resolved = resolveNftVersion(asked);
    if (!resolved) throw new UsageError('usage-bad-option-value', { detail: `--nft-version ${asked} is not a release meshcap knows (${Object.keys(NFT_VERSIONS).join(', ')}), nor a newer one` });
    const nftVersion = resolved.version;
    const notes: Diagnostic[] = resolved.newer ? [diag('nft-version-assumed', undefined, { asked, used: nftVersion })] : [];
    const firewall = oneOf('firewall', values.firewall, FIREWALLS, 'auto');
    const progress = progressLine(io);
    const ctx = compile(file, { backends: names, comments: !values['no-comments'], counters: !!values.counters, nftVersion, firewall, verify: !values['no-verify'], until: dumpAfter, optLevel, layout, progress: progress.step });
    progress.done();
    // The compiler refuses a backend name as the command line does (a usage error, exit 3).
    const usage = ctx.diagnostics.find((d) => codeClass(d.code) === 'usage');
    if (usage) throw new UsageError(usage);
    const sources = new Map(ctx.loaded?.source ? [[ctx.loaded.source.path, ctx.loaded.source]] : []);
    // meshcap's own failures (internal-* codes) go out with the input's diagnostics, in
    // the same format; they are a bug, not a problem of the input (exit 1, below).
    const internal: Diagnostic[] = dumpAfter ? [] : [...ctx.failures, ...ctx.verifyFailures.map(verifyDiagnostic)];
    report(io, format, [...notes, ...ctx.diagnostics, ...internal], sources);
    if (values.timings) {
      for (const t of ctx.timings) io.err(t.within ? `  ${t.pass}: ${t.ms.toFixed(2)} ms\n` : `${t.pass.padEnd(10)} ${t.ms.toFixed(2)} ms\n`);
      // The verify pass, check by check: what a proof cost and how many packet classes it took.
      for (const v of ctx.verifyStats) io.err(`  ${v.stage}: ${v.ms.toFixed(2)} ms, ${v.classes} classes, ${v.result}\n`);
    }
    if (hasErrors(ctx.diagnostics) || !ctx.policy || !ctx.ir) return EXIT.badInput;
    if (dumpAfter) {
      io.out(dumpOf(ctx, dumpAfter));
      return EXIT.ok;
    }
    for (const v of ctx.verifyFailures) {
      const c = v.result.counterexample;
      if (v.result.result !== 'different' || !c) continue;
      io.err(`\n${v.stage}: counterexample: ${packetText(c.packet)}\n  ${JSON.stringify(c.packet)}\n${v.a}:\n${renderTrace(c.a, '  ')}${v.b}:\n${renderTrace(c.b, '  ')}`);
    }
    // Per-packet cost, when asked (the figures go into the verify report too).
    const families = [...ctx.policy.families.value];
    const cost = values.cost ? costsOf(ctx, families) : undefined;
    if (cost) {
      io.err('cost: rules a packet is tested against, over every packet class\n');
      for (const c of cost) io.err(`  ${c.of.padEnd(28)} rules ${String(c.rules).padStart(5)}  worst ${String(c.worst).padStart(5)}  mean ${c.mean.toFixed(2).padStart(8)}  (${c.classes} classes)\n`);
    }
    if (values['verify-report']) {
      const result = ctx.failures.length || ctx.verifyFailures.some((v) => v.result.result === 'different') ? 'different' : ctx.verifyFailures.length ? 'undecided' : 'equal';
      const rep = {
        [REPORT_KEY]: 1,
        policy: ctx.policy.name,
        file,
        result,
        checks: ctx.verifyStats.map((c) => ({ ...c, ms: Number(c.ms.toFixed(3)) })),
        classesExplored: ctx.verifyStats.reduce((n, c) => n + c.classes, 0),
        ms: Number(ctx.verifyStats.reduce((n, c) => n + c.ms, 0).toFixed(3)),
        ...(cost ? { cost: cost.map((c) => ({ of: c.of, rules: c.rules, classes: c.classes, worst: c.worst, mean: Number(c.mean.toFixed(3)) })) } : {}),
        timings: ctx.timings.map((t) => ({ pass: t.within ? `${t.within}:${t.pass}` : t.pass, ms: Number(t.ms.toFixed(3)) })),
      };
      const refused = overwriteRefusals([values['verify-report']], !!values.force, (_p, text) => jsonWithKey(text, REPORT_KEY));
      const bad = refused.length ? refused : [writeAll([[values['verify-report'], JSON.stringify(rep, null, 2) + '\n']])].filter((d) => d !== undefined);
      if (bad.length) {
        report(io, format, bad, sources);
        return EXIT.badInput;
      }
    }
    if (ctx.failures.length || ctx.verifyFailures.length) return EXIT.findings;
    if (values.verbose) {
      for (const v of ctx.verifyStats) io.err(`verified: ${v.stage}: ${v.result} over all packets (${v.classes} classes, ${v.ms.toFixed(1)} ms)\n`);
      if (!ctx.verify) io.err('not verified (--no-verify)\n');
    }

    // With the default backends, skip a family the policy does not have.
    const arts = ctx.artifacts.filter((a) => !defaulted || !a.backend.family || families.includes(a.backend.family));
    const irText = JSON.stringify(ctx.ir, null, 2) + '\n';
    const outDir = values.out;
    if (outDir) {
      // Write to temporary names, then rename: a failed run leaves nothing half-written.
      const name = ctx.policy.name;
      const written = arts.map((a) => ({ path: join(outDir, `${name}.${a.backend.extension}`), text: a.text, backend: a.backend.name }));
      if (values.emit === 'ir') written.push({ path: join(outDir, `${name}.ir.json`), text: irText, backend: 'ir' });
      const summary = summaryText({ policy: name, source: file, verified: ctx.verify, proofs: ctx.verifyStats.map((v) => ({ stage: v.stage, result: v.result, classes: v.classes })) }, written);
      const files: [string, string][] = [...written.map((w): [string, string] => [w.path, w.text]), [join(outDir, summaryName(name)), summary]];
      const dirBad = ensureDir(outDir);
      const bad = dirBad ? [dirBad] : overwriteRefusals(files.map(([f]) => f), !!values.force, ownedByMeshcap(outDir, name), `meshcap replaces only the files it wrote there (listed, unchanged, in ${summaryName(name)}); --force replaces it`);
      const failed = bad.length ? bad : [writeAll(files)].filter((d) => d !== undefined);
      if (failed.length) {
        report(io, format, failed, sources);
        return EXIT.badInput;
      }
      for (const [f] of files) io.err(`wrote ${f}${loadHint(f)}\n`);
      return EXIT.ok;
    }
    if (values.emit === 'ir' && !values.backend) {
      io.out(irText);
      return EXIT.ok;
    }
    const many = arts.length > 1 || values.emit === 'ir';
    for (const a of arts) {
      if (many) io.out(`# ==> ${a.backend.name}: ${a.backend.description} <==\n`);
      io.out(a.text);
    }
    if (values.emit === 'ir') io.out(`# ==> ir <==\n${irText}`);
    return EXIT.ok;
  },
};

/** The IR, the optimized IR and every artifact read back, with their per-packet cost. */
function costsOf(ctx: CompileContext, families: Family[]) {
  const sides: { of: string; rs: RuleSet; families: Family[] }[] = [{ of: 'IR', rs: ctx.ir!, families }];
  if (ctx.steps.length) sides.push({ of: 'optimized IR', rs: finalIr(ctx.ir!, ctx.steps), families });
  for (const a of ctx.artifacts) if (a.reimported) sides.push({ of: `${a.backend.name} output`, rs: a.reimported, families: a.backend.family ? [a.backend.family] : families });
  return costs(sides);
}

/** How to load an artifact beside other tools' rules (its header says it too). */
function loadHint(file: string): string {
  const ipt = /\.(ip6?tables)\.rules$/.exec(file);
  if (ipt) return ` (load it with ${ipt[1]}-restore --noflush, or meshcap apply)`;
  if (file.endsWith('.nft.json')) return ' (load it with nft -j -f, or meshcap apply)';
  return '';
}

/** A failed or undecided proof as its internal-* diagnostic (the counterexample is printed apart). */
function verifyDiagnostic(v: VerifyFailure): Diagnostic {
  const r = v.result;
  return r.result === 'undecided'
    ? diag('internal-verify-undecided', undefined, { stage: v.stage, reason: r.reason ?? '' })
    : diag('internal-verify-different', undefined, { stage: v.stage, classes: r.classes });
}
