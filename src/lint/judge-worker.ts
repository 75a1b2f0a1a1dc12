// A worker thread of src/lint/pool.ts: takes jobs from the shared counter until none are
// left, posting each result by index. A job that throws posts no result: the main thread
// judges it again and reports what it throws.
import { workerData, type MessagePort } from 'node:worker_threads';
import { plainFinding, runJob, type Job } from './judge.js';

const { jobs, counter: buffer, port } = workerData as { jobs: Job[]; counter: SharedArrayBuffer; port: MessagePort };
const counter = new Int32Array(buffer);
for (let i = Atomics.add(counter, 0, 1); i < jobs.length; i = Atomics.add(counter, 0, 1)) {
  let raw = null;
  try {
    raw = runJob(jobs[i]).map(plainFinding);
  } catch {
    // judged again on the main thread
  }
  port.postMessage({ i, raw });
  Atomics.add(counter, 1, 1);
  Atomics.notify(counter, 1);
}
port.close();
