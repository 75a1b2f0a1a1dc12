// Reading a policy file: pick the syntax by extension, parse, build, validate.
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { SyntaxTree } from '../../grammar/syntax-tree.js';
import { parseIntercept } from '../../grammar/visitor.js';
import { parseYaml } from '../../grammar/yaml-reader.js';
import type { Policy } from './ast.js';
import { diag, hasErrors, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { buildPolicy } from './build.js';
import { validatePolicy } from './validate.js';
import { SourceFile } from '../source.js';

export type Syntax = 'intercept' | 'yaml';

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
  const parsed = parseSource(source, syntax);
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

export function loadFile(path: string): Loaded {
  if (isDirectory(path)) return { diagnostics: [diag('file-unreadable', undefined, { path, reason: 'it is a directory' })], syntaxFailed: true };
  const syntax = syntaxOf(path);
  if (!syntax) return { diagnostics: [diag('unknown-file-type', undefined, { path })], syntaxFailed: true };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { diagnostics: [diag('file-unreadable', undefined, { path, reason: unreadableReason(e) })], syntaxFailed: true };
  }
  return loadText(path, text, syntax);
}
