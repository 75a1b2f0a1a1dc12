// Writing a command's results: folders made one level at a time (Node's recursive mkdir
// loops forever under /proc), and files written to temporary names, then renamed, so a
// failed run leaves nothing half-written. Failures are diagnostics, never exceptions.
// An existing file is replaced only when meshcap can tell it wrote it (and, for compile's
// artifacts, that it was not changed since), or with --force: docs/cli.md, "Writing files".
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';

const reasonOf = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied';
  if (err.code === 'EROFS') return 'read-only file system';
  if (err.code === 'ENOSPC') return 'no space left on the device';
  if (err.code === 'ENOTDIR') return 'a folder on the way is a file';
  if (err.code === 'ENOENT') return 'no such folder, and the file system does not let it be made';
  if (err.code === 'EISDIR') return 'a folder of that name is in the way';
  return err.message ?? String(e);
};

/** Make `dir` and its missing parents; a diagnostic when that cannot be done. */
export function ensureDir(dir: string): Diagnostic | undefined {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    try {
      if (!statSync(d).isDirectory()) return diag('file-unwritable', undefined, { path: dir, reason: `${d} is not a directory` });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return diag('file-unwritable', undefined, { path: dir, reason: reasonOf(e) });
      missing.push(d);
      const up = dirname(d);
      if (up === d) return diag('file-unwritable', undefined, { path: dir, reason: 'no such file or directory' });
      d = up;
    }
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      return diag('file-unwritable', undefined, { path: dir, reason: `cannot make ${m}: ${reasonOf(e)}` });
    }
  }
  return undefined;
}

/** Write every file or none: each to a temporary name first, then all renamed into place. */
export function writeAll(files: [path: string, text: string][]): Diagnostic | undefined {
  const written: string[] = [];
  const undo = () => {
    for (const t of written) rmSync(t, { force: true });
  };
  for (const [f, text] of files) {
    try {
      if (statSync(f, { throwIfNoEntry: false })?.isDirectory()) {
        undo();
        return diag('file-unwritable', undefined, { path: f, reason: 'a directory of that name is in the way' });
      }
      writeFileSync(f + '.tmp', text);
      written.push(f + '.tmp');
    } catch (e) {
      undo();
      return diag('file-unwritable', undefined, { path: f, reason: reasonOf(e) });
    }
  }
  for (const [f] of files) {
    try {
      renameSync(f + '.tmp', f);
    } catch (e) {
      undo();
      return diag('file-unwritable', undefined, { path: f, reason: reasonOf(e) });
    }
  }
  return undefined;
}

/**
 * file-exists for each path where a file is that meshcap may not replace: one that `mine`
 * does not recognise as meshcap's own output, unless `force`. Folders are writeAll's to refuse.
 */
export function overwriteRefusals(paths: readonly string[], force: boolean, mine: (path: string, text: string) => boolean, hint?: string): Diagnostic[] {
  if (force) return [];
  const out: Diagnostic[] = [];
  for (const p of paths) {
    if (!isFile(p)) continue;
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      text = '';
    }
    if (!mine(p, text)) out.push(diag('file-exists', undefined, { path: p }, hint));
  }
  return out;
}

/** Whether a regular file is there; a file in the way of its folder (ENOTDIR) is left to the write, which reports it. */
function isFile(p: string): boolean {
  try {
    return !!statSync(p, { throwIfNoEntry: false })?.isFile();
  } catch {
    return false;
  }
}

/** Whether a text is a JSON object with this key: how meshcap's JSON outputs say whose they are. */
export function jsonWithKey(text: string, key: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && key in v;
  } catch {
    return false;
  }
}
