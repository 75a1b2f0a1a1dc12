// The summary compile -o writes beside the artifacts (NAME.summary.json): what was
// written from which policy, each file's SHA-256 and how to load it, and the proofs. It
// is also how a later compile into the same folder knows which files are meshcap's to
// replace: those it lists whose content has not changed since.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { version } from '../compile/version.js';

export const SUMMARY_KEY = 'meshcapSummary';

export interface SummaryFile {
  name: string;
  backend: string;
  sha256: string;
  /** How to load it beside other tools' rules, when it is a rule set. */
  load?: string;
}

export interface Summary {
  [SUMMARY_KEY]: 1;
  meshcap: string;
  policy: string;
  source: string;
  verified: boolean;
  proofs: { stage: string; result: string; classes: number }[];
  files: SummaryFile[];
}

export const summaryName = (policy: string) => `${policy}.summary.json`;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** How to load an artifact beside other tools' rules (its header says it too). */
export function loadCommand(file: string): string | undefined {
  const ipt = /\.(ip6?tables)\.rules$/.exec(file);
  if (ipt) return `${ipt[1]}-restore --noflush < ${basename(file)} (or meshcap apply ${basename(file)})`;
  if (file.endsWith('.nft.json')) return `nft -j -f ${basename(file)} (or meshcap apply ${basename(file)})`;
  if (file.endsWith('.sh')) return `sh ${basename(file)} apply`;
  return undefined;
}

export function summaryText(s: Omit<Summary, typeof SUMMARY_KEY | 'meshcap' | 'files'>, files: { path: string; text: string; backend: string }[]): string {
  const summary: Summary = {
    [SUMMARY_KEY]: 1,
    meshcap: version(),
    ...s,
    files: files.map((f) => {
      const load = loadCommand(f.path);
      return { name: basename(f.path), backend: f.backend, sha256: sha256(f.text), ...(load && { load }) };
    }),
  };
  return JSON.stringify(summary, null, 2) + '\n';
}

/**
 * Whether meshcap may replace `path` in `dir`: the summary itself, or a file the folder's
 * summary of this policy lists with the content it has now.
 */
export function ownedByMeshcap(dir: string, policy: string): (path: string, text: string) => boolean {
  let listed = new Map<string, string>();
  try {
    const s = JSON.parse(readFileSync(join(dir, summaryName(policy)), 'utf8')) as Partial<Summary>;
    if (s[SUMMARY_KEY] && Array.isArray(s.files)) listed = new Map(s.files.map((f) => [f.name, f.sha256]));
  } catch {
    // no summary (or not one of meshcap's): nothing in the folder is known to be meshcap's
  }
  return (path, text) => {
    if (basename(path) === summaryName(policy)) {
      try {
        return SUMMARY_KEY in (JSON.parse(text) as object);
      } catch {
        return false;
      }
    }
    return listed.get(basename(path)) === sha256(text);
  };
}
