// Reading a policy file: pick the syntax by extension, parse, build, validate.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { SyntaxTree } from '../grammar/syntax-tree.js';
import { parseIntercept } from '../grammar/visitor.js';
import { parseYaml } from '../grammar/yaml-reader.js';
import type { Policy } from './ast.js';
import { diag, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics/diagnostic.js';
import { buildPolicy } from './language/build.js';
import { validatePolicy } from './language/validate.js';
import { SourceFile } from './source.js';

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
  diagnostics.push(...built.diagnostics);
  // Whole-policy checks run unless the structure itself is broken; checks that involve a
  // rejected statement are skipped inside (its default would give misleading findings).
  if (built.policy && !syntaxFailed) diagnostics.push(...validatePolicy(built.policy, built.failed));
  return { source, tree: parsed.tree, policy: built.policy, diagnostics: sortDiagnostics(diagnostics), syntaxFailed };
}

export function loadFile(path: string): Loaded {
  const syntax = syntaxOf(path);
  if (!syntax) return { diagnostics: [diag('unknown-file-type', undefined, { path })], syntaxFailed: true };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { diagnostics: [diag('file-unreadable', undefined, { path, reason })], syntaxFailed: true };
  }
  return loadText(path, text, syntax);
}
