#!/usr/bin/env node
import { run } from './run.js';

const color = !!process.stderr.isTTY && !process.env.NO_COLOR;
process.exitCode = run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  color,
});
