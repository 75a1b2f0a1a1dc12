// Shared helpers for the language tests (not a test file itself: vitest only collects
// *.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Io } from '../src/cli/io.js';
import { run } from '../src/cli/run.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { loadText, type Loaded, type Syntax } from '../src/language/load.js';

/** Load policy text under a fixed file name (`policy.intercept` / `policy.yaml`). */
export function load(text: string, syntax: Syntax = 'intercept', path = syntax === 'yaml' ? 'policy.yaml' : 'policy.intercept'): Loaded {
  return loadText(path, text, syntax);
}

/** `code@line:col` for each diagnostic, in the order reported. */
export function found(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => `${d.code}@${d.span ? `${d.span.start.line}:${d.span.start.col}` : '-'}`);
}

export function errorsOf(ds: readonly Diagnostic[]): Diagnostic[] {
  return ds.filter((d) => d.severity === 'error');
}

/** An Io that records what a command writes. */
export interface MemIo extends Io {
  stdout: string;
  stderr: string;
}

export function memIo(): MemIo {
  const io: MemIo = {
    stdout: '',
    stderr: '',
    color: false,
    out: (s) => void (io.stdout += s),
    err: (s) => void (io.stderr += s),
  };
  return io;
}

/** Run the CLI in-process: exit code and both streams. */
export function cli(...argv: string[]): { code: number; stdout: string; stderr: string } {
  const io = memIo();
  const code = run(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The same, with the streams named out and err (the compile/verify/nft tests' spelling). */
export function cliOutErr(...argv: string[]): { code: number; out: string; err: string } {
  const r = cli(...argv);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** A scratch directory under the OS temp dir, removed by the returned cleanup. */
export function scratchDir(prefix = 'meshcap-test-'): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A stack-trace line as Node prints it. */
export const STACK_LINE = /^\s{4}at /m;
