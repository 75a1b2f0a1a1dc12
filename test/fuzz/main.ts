// The long fuzz run: `npm run fuzz -- --minutes N [--seed S] [--surface NAME] [--workers W]
// [--out DIR] [--no-huge]`. Goes round the surfaces in rounds of a few hundred cases until the time is
// up, prints a summary (cases, failures, exit codes per surface), and writes one reproducer
// directory per failure (at most 20 per surface) to DIR (default fuzz-reproducers/).
// Exits 1 when any case failed.
import { parseArgs } from 'node:util';
import { describeFailure, fuzzSurface, writeReproducer, type Report } from './engine.js';
import { Pool } from './pool.js';
import { SURFACES } from './surfaces.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    surface: { type: 'string', multiple: true },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: 'fuzz-reproducers' },
    'no-huge': { type: 'boolean', default: false },
  },
});
/** The run; its exit code (1: a case failed, 3: usage). process.exitCode lets the pool's workers and stdout finish. */
async function main(): Promise<number> {
  const minutes = Number(values.minutes);
  const seed = Number(values.seed);
  const surfaces = values.surface?.length ? SURFACES.filter((s) => values.surface!.includes(s.name)) : SURFACES;
  if (!(minutes > 0) || !Number.isInteger(seed) || !surfaces.length) {
    process.stderr.write(`usage: npm run fuzz -- --minutes N [--seed S] [--surface ${SURFACES.map((s) => s.name).join('|')}] [--workers W] [--out DIR]\n`);
    return 3;
  }

  const workers = Math.max(1, Number(values.workers) || 2);
  const pool = new Pool(workers);
  const until = performance.now() + minutes * 60_000;
  const totals = new Map<string, Report>();
  const seeds = new Map(surfaces.map((s) => [s.name, s.seeds()]));
  process.stderr.write(`fuzzing ${surfaces.length} surfaces for ${minutes} min with seed ${seed}, ${workers} workers\n`);
  for (let round = 0; performance.now() < until; round++) {
    for (const s of surfaces) {
      if (performance.now() >= until) break;
      const r = await fuzzSurface(pool, s, { cases: 300, seed: seed + round, huge: round === 0 && !values['no-huge'], until, concurrency: workers, seeds: seeds.get(s.name) });
      const t = totals.get(s.name) ?? { surface: s.name, cases: 0, failures: [], exits: {}, ms: 0, cpuMs: 0, duplicates: 0 };
      t.cases += r.cases;
      t.ms += r.ms;
      t.cpuMs += r.cpuMs;
      t.duplicates += r.duplicates;
      t.failures.push(...r.failures);
      for (const [k, v] of Object.entries(r.exits)) t.exits[k] = (t.exits[k] ?? 0) + v;
      totals.set(s.name, t);
    }
  }
  await pool.close();

  let failed = 0;
  process.stdout.write(`\n${'surface'.padEnd(18)}${'cases'.padStart(8)}${'failed'.padStart(8)}  exit codes\n`);
  for (const t of totals.values()) {
    failed += t.failures.length;
    const exits = Object.entries(t.exits).map(([k, v]) => `${k}:${v}`).join(' ');
    process.stdout.write(`${t.surface.padEnd(18)}${String(t.cases).padStart(8)}${String(t.failures.length).padStart(8)}  ${exits}\n`);
  }
  for (const t of totals.values()) {
    for (const f of t.failures.slice(0, 20)) {
      const d = writeReproducer(values.out, f);
      process.stdout.write(`\n${d}\n  ${describeFailure(f).slice(0, 600)}\n`);
    }
  }
  process.stdout.write(`\n${[...totals.values()].reduce((n, t) => n + t.cases, 0)} cases, ${failed} failed (seed ${seed})\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
