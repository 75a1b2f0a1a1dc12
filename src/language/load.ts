// Reading a policy file: pick the syntax by extension, parse, build, validate.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { SyntaxTree } from '../../grammar/syntax-tree.js';
import { parseIntercept } from '../../grammar/visitor.js';
import { parseYaml } from '../../grammar/yaml-reader.js';
import type { Policy } from './ast.js';
import { diag, hasErrors, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { buildPolicy } from './build.js';
import { validatePolicy } from './validate.js';
import { SourceFile } from '../source.js';

export type Syntax = 'intercept' | 'yaml';

/** `-` on the command line: standard input. */
export const STDIN = '-';
/** The name standard input goes by in diagnostics. */
export const STDIN_NAME = '<stdin>';

/** The syntax of a text with no file name: YAML when its first statement is a `key:`. */
export function guessSyntax(text: string): Syntax {
  const first = text.split('\n').find((l) => l.trim() !== '' && !/^\s*#/.test(l)) ?? '';
  return /^\s*[\w-]+\s*:/.test(first) ? 'yaml' : 'intercept';
}

/**
 * The files a command line names: a directory stands for the policies in it and its
 * subfolders (by extension, in name order; hidden folders and node_modules skipped), `-`
 * for standard input; anything else as given.
 */
export function expandInputs(paths: readonly string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const walk = (dir: string, out: string[]) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.isDirectory()) {
        if (!e.name.startsWith('.') && e.name !== 'node_modules') walk(join(dir, e.name), out);
      } else if (syntaxOf(e.name)) out.push(join(dir, e.name));
    }
  };
  for (const p of paths) {
    if (p === STDIN || !isDirectory(p)) {
      files.push(p);
      continue;
    }
    const found: string[] = [];
    try {
      walk(p, found);
    } catch (e) {
      diagnostics.push(diag('file-unreadable', undefined, { path: p, reason: unreadableReason(e) }));
      continue;
    }
    if (!found.length) diagnostics.push(diag('file-unreadable', undefined, { path: p, reason: 'it is a directory with no .intercept, .yaml or .yml file' }));
    files.push(...found);
  }
  return { files, diagnostics };
}

export function syntaxOf(path: string): Syntax | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.intercept') return 'intercept';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return undefined;
}

export interface Loaded {
  source?: SourceFile;
  tree?: SyntaxTree;
  /** Present when the file parsed; may still have semantic errors (see diagnostics). */
  policy?: Policy;
  diagnostics: Diagnostic[];
  /** True when the file could not be read or parsed (no tree to format). */
  syntaxFailed: boolean;
}

export function parseSource(source: SourceFile, syntax: Syntax): { tree: SyntaxTree; diagnostics: Diagnostic[]; broken: boolean } {
  return syntax === 'yaml' ? parseYaml(source) : parseIntercept(source);
}

/** Parse, build and validate policy text. */
export function loadText(path: string, text: string, syntax: Syntax): Loaded {
  const source = new SourceFile(path, text);
  return loadParsed(source, parseSource(source, syntax));
}

/** Build and validate what parseSource made of `source` (for a caller that needs the parse too). */
export function loadParsed(source: SourceFile, parsed: ReturnType<typeof parseSource>): Loaded {
  const diagnostics = [...parsed.diagnostics];
  const syntaxFailed = parsed.broken;
  const built = buildPolicy(parsed.tree);
  // A file the parser could not read has no policy to find: 'no policy in this file' on
  // top of a YAML syntax error would only send the user looking for the wrong problem.
  const parseFailed = hasErrors(parsed.diagnostics);
  diagnostics.push(...built.diagnostics.filter((d) => !(parseFailed && d.code === 'missing-policy')));
  // Whole-policy checks run unless the structure itself is broken; checks that involve a
  // rejected statement are skipped inside (its default would give misleading findings).
  if (built.policy && !syntaxFailed) diagnostics.push(...validatePolicy(built.policy, built.failed));
  return { source, tree: parsed.tree, policy: built.policy, diagnostics: sortDiagnostics(diagnostics), syntaxFailed };
}

/** Why a file cannot be read, in words (not Node's "EISDIR: illegal operation ..."). */
export function unreadableReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

/** A directory named on the command line: say so, whatever its name ends in. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** How many continuation bytes a lead byte takes and the least code point it may encode. */
function utf8Lead(c: number): [number, number] | undefined {
  if (c < 0x80) return [0, 0];
  if (c >= 0xc2 && c <= 0xdf) return [1, 0x80];
  if (c >= 0xe0 && c <= 0xef) return [2, 0x800];
  if (c >= 0xf0 && c <= 0xf4) return [3, 0x10000];
  return undefined;
}

/** The offset of the first byte that starts no valid UTF-8 sequence (RFC 3629). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const lead = utf8Lead(b[i]);
    if (!lead) return i;
    const [n, min] = lead;
    if (i + n >= b.length) return i;
    let cp = n ? b[i] & (0x3f >> n) : b[i];
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if ((x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

/**
 * A file's text, or the diagnostic that says why there is none: unreadable, or not UTF-8
 * (read leniently, invalid bytes would become U+FFFD, and `fmt --write` would rewrite
 * them without a word).
 */
export function readText(path: string): { text: string } | { diagnostic: Diagnostic } {
  let bytes: Buffer;
  try {
    bytes = path === STDIN ? readFileSync(0) : readFileSync(path);
  } catch (e) {
    return { diagnostic: diag('file-unreadable', undefined, { path, reason: unreadableReason(e) }) };
  }
  try {
    return { text: UTF8.decode(bytes) };
  } catch {
    const lo = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, lo).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    return { diagnostic: diag('not-utf8', undefined, { path, line, col, byte: `0x${bytes[lo].toString(16).padStart(2, '0')}` }) };
  }
}

export function loadFile(path: string): Loaded {
  if (path === STDIN) {
    const read = readText(path);
    if ('diagnostic' in read) return { diagnostics: [read.diagnostic], syntaxFailed: true };
    return loadText(STDIN_NAME, read.text, guessSyntax(read.text));
  }
  if (isDirectory(path)) return { diagnostics: [diag('file-unreadable', undefined, { path, reason: 'it is a directory' })], syntaxFailed: true };
  const syntax = syntaxOf(path);
  if (!syntax) return { diagnostics: [diag('unknown-file-type', undefined, { path })], syntaxFailed: true };
  const read = readText(path);
  if ('diagnostic' in read) return { diagnostics: [read.diagnostic], syntaxFailed: true };
  return loadText(path, read.text, syntax);
}
