// The fuzz run: cases made from per-case seeds (so any case is replayed from its surface
// and seed alone), run in the pool, and checked against the properties every command
// owes its user:
//   - no exception escapes, no stack trace, no internal-* diagnostic;
//   - the exit code is 0-3, and one the step allows (compile never fails its own proof,
//     a valid packet is traced, a formatted policy means what it meant);
//   - exit 2 comes with an error diagnostic, exit 0 with none;
//   - every error diagnostic has a code and either a file:line:col, the file it is about,
//     or is about a command-line value (usage-*, istio-*, import-*, invalid-packet);
//   - no command line runs over 10 s (stretched on an oversubscribed machine: stepLimitMs)
//     or past the 1 GB heap; stderr stays bounded;
//   - fmt is idempotent.
// Cases identical to an earlier one of the same run are not run twice (caseKey).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rand } from '../rand.js';
import { HUGE, type Huge } from './mutate.js';
import { type Outcome, type Pool } from './pool.js';
import type { Case, Surface } from './surfaces.js';

/** What any error diagnostic may go without a location for: a command-line value. */
const ARGUMENT_CODES = /^(usage-|istio-|import-|invalid-packet$)/;
const HEADER = /^(?:(.+?): )?(error|warning|info)\[([a-z0-9-]+)\]: /;
const STACK_LINE = /^\s{4}at /m;
/** Text output shows at most 50 diagnostics a file, each with a bounded excerpt. */
const STDERR_LIMIT = 1 << 20;

export interface Failure {
  surface: string;
  seed: number;
  problems: string[];
  case: Case;
}

export interface Report {
  surface: string;
  cases: number;
  failures: Failure[];
  /** How many command lines exited with each code. */
  exits: Record<string, number>;
  ms: number;
  /** Cases drawn that were identical to an earlier one, and so not run (not counted in `cases`). */
  duplicates: number;
  /** CPU time of the whole process (its workers included) over the run: what the load does not stretch much. */
  cpuMs: number;
}

/** The problems of one finished case (empty when it kept every property). */
export function problemsOf(c: Case, o: Outcome): string[] {
  if (o.kind === 'hang') return [`no answer within ${Math.round(o.ms)} ms (worker terminated)`];
  if (o.kind === 'crash') return [o.message];
  const problems: string[] = [];
  o.steps.forEach((s, i) => {
    const step = c.steps[i];
    const at = `step ${i + 1} (${step.argv[0]})`;
    const bad = (m: string) => problems.push(`${at}: ${m}`);
    if (s.skipped) return;
    if (s.threw) return bad(`uncaught exception: ${s.threw.split('\n').slice(0, 3).join(' | ')}`);
    if (![0, 1, 2, 3].includes(s.code)) bad(`exit code ${s.code}`);
    else if (step.codes && !step.codes.includes(s.code)) bad(`exit ${s.code}, expected ${step.codes.join(' or ')}`);
    if (s.ms > o.limitMs) bad(`took ${Math.round(s.ms)} ms (limit ${Math.round(o.limitMs)} ms at this load)`);
    if (s.errLen > STDERR_LIMIT) bad(`${s.errLen} bytes on stderr`);
    const text = s.err + s.out;
    if (/\[internal-[a-z-]+\]|"code": "internal-/.test(text)) bad(`internal error: ${firstLine(text, /internal-/)}`);
    if (STACK_LINE.test(s.err)) bad(`stack trace: ${firstLine(s.err, STACK_LINE)}`);
    const errors = s.err.split('\n').flatMap((l) => {
      const m = HEADER.exec(l);
      return m && m[2] === 'error' ? [{ line: l, where: m[1], code: m[3] }] : [];
    });
    for (const e of errors) {
      const located = !!e.where && (/:\d+:\d+$/.test(e.where) || (e.where !== 'meshcap' && !e.where.includes(' ')));
      if (!located && !ARGUMENT_CODES.test(e.code)) bad(`diagnostic without a location: ${e.line.slice(0, 200)}`);
    }
    if (s.code === 2 && !errors.length && !/"severity": "error"/.test(s.out) && s.errLen <= s.err.length) bad(`exit 2 without an error diagnostic: ${s.err.slice(0, 200)}`);
    if (s.code === 0 && errors.length) bad(`exit 0 with an error: ${errors[0].line.slice(0, 200)}`);
    if (s.same === false) bad('fmt of the formatted text printed something else (not idempotent)');
  });
  return problems;
}

function firstLine(text: string, re: RegExp): string {
  return (text.split('\n').find((l) => re.test(l)) ?? '').slice(0, 200);
}

/** The seed of case `i` of a run seeded `seed`. */
export const caseSeed = (seed: number, i: number) => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;

/** What makes a case: its files and its command lines. */
export function caseKey(c: Case): string {
  const h = createHash('sha256');
  for (const f of c.files) h.update(f.name).update('\0').update(f.data).update('\0');
  for (const st of c.steps) h.update(JSON.stringify(st));
  return h.digest('hex');
}

export function makeCase(surface: Surface, seeds: string[], seed: number): Case {
  return surface.make(new Rand(seed), seeds);
}

/** Run `cases` cases of a surface (or until `until`, a performance.now() time), `huge` adds the three oversized ones. */
export async function fuzzSurface(pool: Pool, surface: Surface, opts: { cases: number; seed: number; huge?: boolean | Huge[]; until?: number; concurrency?: number; seeds?: string[] }): Promise<Report> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const seeds = opts.seeds ?? surface.seeds();
  const report: Report = { surface: surface.name, cases: 0, failures: [], exits: {}, ms: 0, cpuMs: 0, duplicates: 0 };
  const record = (c: Case, seed: number, o: Outcome) => {
    report.cases++;
    if (o.kind === 'done') for (const s of o.steps) report.exits[s.code] = (report.exits[s.code] ?? 0) + 1;
    const problems = problemsOf(c, o);
    if (problems.length) report.failures.push({ surface: surface.name, seed, problems, case: c });
  };
  if (opts.huge) {
    for (const kind of opts.huge === true ? HUGE : opts.huge) {
      const c = surface.huge(kind, seeds);
      record(c, -1 - HUGE.indexOf(kind), await pool.run(c));
    }
  }
  // A case identical to an earlier one (the same files and command lines: an unmutated
  // seed drawn again) would give the same outcome, the CLI being deterministic: it is not
  // run again, and the next seed is drawn, so that `cases` distinct cases run. A surface
  // with fewer distinct cases than asked stops after drawing ten times as many.
  const seen = new Set<string>();
  let next = 0;
  let begun = 0;
  const lane = async () => {
    while (begun < opts.cases && next < opts.cases * 10 && (opts.until === undefined || performance.now() < opts.until)) {
      const seed = caseSeed(opts.seed, next++);
      const c = makeCase(surface, seeds, seed);
      const key = caseKey(c);
      if (seen.has(key)) {
        report.duplicates++;
        continue;
      }
      seen.add(key);
      begun++;
      record(c, seed, await pool.run(c));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 2 }, lane));
  report.ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  report.cpuMs = (used.user + used.system) / 1000;
  return report;
}

export const hugeKindOf = (seed: number): Huge | undefined => (seed < 0 ? HUGE[-1 - seed] : undefined);

/** A reproducer directory: the case's files, its command lines and what went wrong. */
export function writeReproducer(dir: string, f: Failure): string {
  const d = join(dir, `${f.surface}-${f.seed < 0 ? hugeKindOf(f.seed) : f.seed}`);
  mkdirSync(d, { recursive: true });
  for (const file of f.case.files) writeFileSync(join(d, file.name), file.data);
  const cmds = f.case.steps.map((s) => `meshcap ${s.argv.map((a) => shellQuote(a.split('@/').join('./'))).join(' ')}`);
  writeFileSync(join(d, 'README.txt'), `surface ${f.surface}, case seed ${f.seed}\nrun in this directory:\n${cmds.join('\n')}\n\nproblems:\n${f.problems.join('\n')}\n`);
  return d;
}

function shellQuote(s: string): string {
  const t = s.length > 300 ? `${s.slice(0, 300)}...(${s.length} chars)` : s;
  return /^[A-Za-z0-9_./:=,+-]+$/.test(t) ? t : `'${t.replace(/'/g, `'\\''`)}'`;
}

/** One line per failure, short enough to read in a test report. */
export function describeFailure(f: Failure): string {
  const files = f.case.files.map((x) => `${x.name} (${x.data.length} bytes): ${JSON.stringify(String(x.data).slice(0, 160))}`).join('; ');
  const argv = f.case.steps.map((s) => s.argv.map((a) => (a.length > 120 ? `${a.slice(0, 120)}...` : a)).join(' ')).join(' && ');
  return `${f.surface} seed ${f.seed}: ${f.problems.join('; ')} [${argv}] ${files}`;
}
