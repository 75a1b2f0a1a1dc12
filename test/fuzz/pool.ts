// A pool of fuzz workers with limits: each case runs in a worker thread with a 1 GB heap,
// and a case that has not answered within its time limit (10 s a command line) has its
// worker terminated and replaced, so a hang is reported, never suffered. The workers run
// the built CLI (dist/): `npm run build` first (npm test does).
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Case } from './surfaces.js';

export interface StepResult {
  code: number;
  ms: number;
  outLen: number;
  errLen: number;
  out: string;
  err: string;
  /** An exception that escaped run() (a stack). */
  threw?: string;
  /** Not run (its `when` did not hold). */
  skipped?: boolean;
  /** For a step with sameStdoutAs: whether it printed the same. */
  same?: boolean;
}

/** `limitMs`: the step limit the case ran under (stepLimitMs when it started). */
export type Outcome = { kind: 'done'; steps: StepResult[]; limitMs: number } | { kind: 'hang'; ms: number } | { kind: 'crash'; message: string };

export const STEP_LIMIT_MS = 10_000;

/**
 * The wall-clock limit of one command line now: 10 s on a machine with a core to spare,
 * stretched by how oversubscribed it is (load average per core, at most 6x), since a worker
 * given a tenth of a core has done a tenth of the work in 10 s. The property is about
 * hangs and blow-ups, which stay far past any such slack.
 */
export function stepLimitMs(): number {
  return STEP_LIMIT_MS * Math.min(6, Math.max(1, loadavg()[0] / availableParallelism()));
}
export const HEAP_LIMIT_MB = 1024;

interface Slot {
  worker: Worker;
  dir: string;
  busy: boolean;
}

export class Pool {
  private slots: Slot[] = [];
  private queue: Array<() => void> = [];
  private readonly base = mkdtempSync(join(tmpdir(), 'meshcap-fuzz-'));
  private serial = 0;

  constructor(
    private readonly size: number,
    private readonly workerFile = builtWorker(),
  ) {}

  private spawn(): Slot {
    const dir = join(this.base, `w${++this.serial}`);
    const worker = new Worker(this.workerFile, { workerData: { dir }, resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB } });
    worker.unref();
    return { worker, dir, busy: false };
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const idle = this.slots.find((s) => !s.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.slots.length < this.size) {
        const s = this.spawn();
        s.busy = true;
        this.slots.push(s);
        return s;
      }
      await new Promise<void>((res) => this.queue.push(res));
    }
  }

  private release(s: Slot): void {
    s.busy = false;
    this.queue.shift()?.();
  }

  /** Replace a worker that hung or died. */
  private replace(s: Slot): void {
    void s.worker.terminate();
    const i = this.slots.indexOf(s);
    if (i >= 0) this.slots.splice(i, 1);
    this.queue.shift()?.();
  }

  async run(c: Case): Promise<Outcome> {
    const slot = await this.acquire();
    const stepLimit = stepLimitMs();
    const limit = stepLimit * c.steps.length + 2_000;
    const started = performance.now();
    return new Promise<Outcome>((resolve) => {
      const done = (o: Outcome, healthy: boolean) => {
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        slot.worker.off('error', onError);
        slot.worker.off('exit', onExit);
        if (healthy) this.release(slot);
        else this.replace(slot);
        resolve(o);
      };
      const onMessage = (steps: StepResult[]) => done({ kind: 'done', steps, limitMs: stepLimit }, true);
      const onError = (e: Error & { code?: string }) => done({ kind: 'crash', message: e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `over the ${HEAP_LIMIT_MB} MB heap limit` : `worker died: ${e.message}` }, false);
      const onExit = (code: number) => done({ kind: 'crash', message: `worker exited with ${code}` }, false);
      const timer = setTimeout(() => done({ kind: 'hang', ms: performance.now() - started }, false), limit);
      slot.worker.on('message', onMessage);
      slot.worker.on('error', onError);
      slot.worker.on('exit', onExit);
      slot.worker.postMessage(c);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** dist/test/fuzz/worker.js, refusing a build older than the sources it runs. */
export function builtWorker(root = process.cwd()): string {
  const worker = join(root, 'dist', 'test', 'fuzz', 'worker.js');
  if (!existsSync(worker)) throw new Error(`${worker} is missing: run 'npm run build' first`);
  const built = statSync(join(root, 'dist', 'src', 'cli', 'run.js')).mtimeMs;
  const stale = newestSource(root) > built + 1000;
  if (stale) throw new Error(`dist/ is older than the sources: run 'npm run build' first`);
  return worker;
}

function newestSource(root: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['src', 'backends', 'grammar', join('test', 'fuzz')]) walk(join(root, d));
  return newest;
}
