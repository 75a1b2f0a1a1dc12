#!/usr/bin/env node
import { run } from './run.js';

// A closed pipe (meshcap ... | head) ends the output quietly, as for other CLI tools.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const color = !!process.stderr.isTTY && !process.env.NO_COLOR;
process.exitCode = run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  color,
  tty: !!process.stderr.isTTY,
});
