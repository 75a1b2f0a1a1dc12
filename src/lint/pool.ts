// Judging many workloads on every core. The engine's questions about one workload do
// not depend on another's, so jobs are shared out: the main thread and N-1 worker threads
// take the next job from one shared counter (a slow job does not hold up the rest) and
// the results come back by index, so the findings are the same, in the same order, as
// judged by one thread. `lint` stays synchronous: the main thread judges too, then waits
// on the counter of results posted. A worker that dies or hangs costs time, never a
// result: what it took and did not return by the deadline, the main thread judges itself.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { RawFinding } from './engine-rules.js';
import { runJob, type Job } from './judge.js';

const WORKER = new URL('./judge-worker.js', import.meta.url);

/** Fewer jobs than this are judged on the main thread: starting a worker costs about as much. */
export const MIN_PARALLEL_JOBS = 32;

/** The threads `lint` uses by default: one per core, at most 8. */
export const defaultThreads = () => Math.max(1, Math.min(8, availableParallelism()));

/** What crosses to a worker: the job without its loaded policy (the worker loads the text). */
function withoutPolicy(j: Job): Job {
  const copy = { ...j };
  delete copy.policy;
  return copy;
}

/** Shared counters: [0] the next job to take, [1] the results posted. */
const NEXT = 0;
const POSTED = 1;

export interface Progress {
  (done: number, total: number): void;
}

export interface PoolStats {
  /** Threads that judged (this one and the workers started). */
  threads: number;
  /** Jobs whose findings came from a worker. */
  byWorkers: number;
}

/** Judge every job; `threads` 1 judges on this thread alone. */
export function judgeAll(jobs: Job[], threads: number, progress?: Progress, stats?: PoolStats): RawFinding[][] {
  const out: (RawFinding[] | undefined)[] = Array.from({ length: jobs.length }, () => undefined);
  const workers = threads > 1 && jobs.length >= MIN_PARALLEL_JOBS && existsSync(fileURLToPath(WORKER)) ? Math.min(threads, jobs.length) - 1 : 0;
  const counter = new Int32Array(new SharedArrayBuffer(8));
  const started: { worker: Worker; port: MessagePort }[] = [];
  let sent: Job[] | undefined;
  for (let k = 0; k < workers; k++) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER, { workerData: { jobs: (sent ??= jobs.map(withoutPolicy)), counter: counter.buffer, port: port2 }, transferList: [port2] });
    worker.unref();
    // A worker's failure shows as results it does not post (judged again below).
    worker.on('error', () => {});
    started.push({ worker, port: port1 });
  }
  if (stats) stats.threads = 1 + workers;
  let done = 0;
  const drain = () => {
    for (const { port } of started) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const { i, raw } = m.message as { i: number; raw: RawFinding[] | null };
        // A job that threw there (raw null) counts as answered: it is judged again below.
        if (raw) out[i] = raw;
        done++;
        if (raw && stats) stats.byWorkers++;
      }
    }
  };
  let slowest = 0;
  for (let i = Atomics.add(counter, NEXT, 1); i < jobs.length; i = Atomics.add(counter, NEXT, 1)) {
    const t = performance.now();
    out[i] = runJob(jobs[i]);
    slowest = Math.max(slowest, performance.now() - t);
    done++;
    if (started.length) drain();
    progress?.(done, jobs.length);
  }
  if (started.length) {
    // The workers' last jobs: wait while they post, up to well past the slowest job seen here.
    const deadline = performance.now() + Math.max(10_000, 20 * slowest);
    for (let posted = Atomics.load(counter, POSTED); done < jobs.length && performance.now() < deadline; posted = Atomics.load(counter, POSTED)) {
      Atomics.wait(counter, POSTED, posted, 50);
      drain();
      progress?.(done, jobs.length);
    }
    for (const { worker, port } of started) {
      port.close();
      void worker.terminate();
    }
  }
  for (let i = 0; i < jobs.length; i++) out[i] ??= runJob(jobs[i]);
  return out as RawFinding[][];
}
