// One fuzz worker (a worker thread running the built CLI in-process): writes a case's
// files to its own scratch directory, runs the case's command lines one after another,
// and posts back each one's exit code, output sizes, time, and a bounded excerpt of its
// output. The pool that started it enforces the time and memory limits.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { run } from '../../src/cli/run.js';
import type { Case } from './surfaces.js';
import type { StepResult } from './pool.js';

const dir = (workerData as { dir: string }).dir;
/** What a step's output keeps for the report (the sizes are always exact). */
const KEEP = 64 * 1024;

const sameBytes = ([a, b]: [string, string]) => {
  const [pa, pb] = [join(dir, a), join(dir, b)];
  return existsSync(pa) && existsSync(pb) && readFileSync(pa).equals(readFileSync(pb));
};

parentPort!.on('message', (c: Case) => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of c.files) writeFileSync(join(dir, f.name), f.data);
  const results: StepResult[] = [];
  const outs: string[] = [];
  for (const step of c.steps) {
    if ((step.when && !step.when.codes.includes(results[step.when.step]?.code)) || (step.unlessSame && sameBytes(step.unlessSame))) {
      results.push({ code: 0, ms: 0, outLen: 0, errLen: 0, out: '', err: '', skipped: true });
      outs.push('');
      continue;
    }
    const argv = step.argv.map((a) => a.split('@/').join(`${dir}/`));
    let out = '';
    let err = '';
    const started = performance.now();
    let code: number;
    let threw: string | undefined;
    try {
      code = run(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false });
    } catch (e) {
      code = -1;
      threw = (e as Error)?.stack ?? String(e);
    }
    const ms = performance.now() - started;
    outs.push(out);
    const same = step.sameStdoutAs === undefined ? undefined : outs[step.sameStdoutAs] === out;
    results.push({ code, ms, outLen: out.length, errLen: err.length, out: out.slice(0, KEEP), err: err.slice(0, KEEP), threw, same });
    if (step.stdoutTo) {
      if (code !== 0 && code !== 1) continue;
      writeFileSync(join(dir, step.stdoutTo), out);
    }
  }
  parentPort!.postMessage(results);
});
