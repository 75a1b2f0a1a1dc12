// What `lint PATH...` reads: files as named, directories walked (sorted, skipping dot
// folders and node_modules, and the paths the ignore globs name), `-` for stdin.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globRegExp } from './config.js';

export interface Ignore {
  /** Globs, matched against paths relative to `dir`. */
  globs: string[];
  dir: string;
}

const LINTABLE = /\.(intercept|ya?ml)$/i;

export function ignored(path: string, ignores: Ignore[]): boolean {
  const abs = resolve(path);
  return ignores.some((ig) => {
    const rel = relative(ig.dir, abs).split(sep).join('/');
    return !rel.startsWith('..') && ig.globs.some((g) => globRegExp(g).test(rel));
  });
}

/** The files under a directory that lint reads, as paths joined to `dir` (as the user wrote it). */
export function walk(dir: string, ignores: Ignore[]): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (ignored(p, ignores)) continue;
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!n.startsWith('.') && n !== 'node_modules') visit(p);
      } else if (LINTABLE.test(n) && !/^\.meshcap\.ya?ml$/.test(n)) out.push(p);
    }
  };
  visit(dir);
  return out;
}

/**
 * Whether a YAML text met in a directory walk is for lint: a policy (`policy:` at the
 * top) or a Kubernetes manifest. Other YAML (CI workflows, Helm values, chart templates
 * with `{{ }}`) is passed over; a file named on the command line is always read.
 */
export function walkedYamlIsForLint(text: string): boolean {
  if (/\{\{/.test(text)) return false;
  return /^policy:/m.test(text) || /^(apiVersion|kind):/m.test(text);
}
