// Lint's reports: text, JSON and GitHub annotations through the diagnostics renderers;
// SARIF 2.1.0 with paths relative to a base folder (no absolute path ever), each rule
// with its help text and URI, and partialFingerprints that survive lines moving; JUnit XML.
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { renderGithub, renderJson, renderText, summaryLine, type Reportable } from '../diagnostics/render.js';
import { docsBase } from '../compile/version.js';
import type { SourceFile } from '../source.js';
import { atLeast, type Finding } from './lint.js';
import { RULES, type Level } from './rules.js';

export const lintFormats = ['text', 'json', 'sarif', 'github', 'junit'] as const;
export type LintFormat = (typeof lintFormats)[number];

/** Where SARIF's helpUri and `explain` send readers for the rules: docs/lint.md under the documentation's base (package.json `homepage`, or --docs-url / `docsUrl`). */
export function lintDocsUri(base = docsBase()): string {
  return `${base.replace(/\/$/, '')}/lint.md`;
}

/** The SARIF 2.1.0 schema, as OASIS publishes it (errata 01). */
export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

const asReportable = (f: Finding): Reportable => ({ code: f.rule, severity: f.level, message: f.message, ...(f.hint ? { hint: f.hint } : {}), span: f.span });

export function renderLintText(fs: Finding[], sources: Map<string, SourceFile>, color: boolean): string {
  return fs.length ? renderText(fs.map(asReportable), { sources, color }) : '';
}
export const lintSummary = (fs: Finding[]) => summaryLine(fs.map(asReportable));
export const renderLintJson = (fs: Finding[]) => renderJson(fs.map(asReportable));
export const renderLintGithub = (fs: Finding[]) => renderGithub(fs.map(asReportable));

/** A path as SARIF names it: relative to `base`, with forward slashes, percent-encoded. */
export function sarifUri(file: string, base: string): string {
  const rel = file.startsWith('<') ? file : isAbsolute(file) || base ? relative(resolve(base || '.'), resolve(file)) : file;
  return encodeURI(rel.split(sep).join('/'));
}

const sarifLevel = (l: Level) => (l === 'info' ? 'note' : l);

export function renderLintSarif(fs: Finding[], sources: Map<string, SourceFile>, base: string, toolVersion: string, docs = docsBase()): string {
  const help = lintDocsUri(docs);
  const ids = Object.keys(RULES) as (keyof typeof RULES)[];
  const rules = ids.map((id) => {
    const r = RULES[id];
    return {
      id,
      shortDescription: { text: r.summary },
      fullDescription: { text: r.explain },
      help: { text: `${r.explain}\n\nFails:\n${r.bad}\nPasses:\n${r.good}`, markdown: `${r.explain}\n\nFails:\n\n\`\`\`\n${r.bad}\`\`\`\n\nPasses:\n\n\`\`\`\n${r.good}\`\`\`` },
      helpUri: `${help}#${id}`,
      defaultConfiguration: { level: sarifLevel(r.level) },
      properties: { tags: ['meshcap', r.scope] },
    };
  });
  const seen = new Map<string, number>();
  const results = fs.map((f) => {
    const uri = sarifUri(f.span.file, base);
    const src = sources.get(f.span.file);
    const line = src?.lineText(f.span.start.line).trim() ?? '';
    // Stable across edits elsewhere in the file: the rule, the file and the offending line's text (and which occurrence).
    const basis = `${f.rule}\0${uri}\0${line}`;
    const n = (seen.get(basis) ?? 0) + 1;
    seen.set(basis, n);
    return {
      ruleId: f.rule,
      ruleIndex: ids.indexOf(f.rule),
      level: sarifLevel(f.level),
      message: { text: f.hint ? `${f.message} (hint: ${f.hint})` : f.message },
      locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: f.span.start.line, startColumn: f.span.start.col, endLine: f.span.end.line, endColumn: f.span.end.col } } }],
      partialFingerprints: { 'meshcapFinding/v1': `${createHash('sha256').update(basis).digest('hex').slice(0, 32)}:${n}` },
    };
  });
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'meshcap', informationUri: help, version: toolVersion, rules } }, results, columnKind: 'utf16CodeUnits' }],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JUnit XML: a suite per file, a test case per finding (failed at or above --fail-on), one passing case for a clean file. */
export function renderLintJunit(fs: Finding[], files: string[], failOn: Level): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const byFile = new Map<string, Finding[]>(files.map((f) => [f, []]));
  for (const f of fs) (byFile.get(f.span.file) ?? byFile.set(f.span.file, []).get(f.span.file)!).push(f);
  const failures = fs.filter((f) => atLeast(f.level, failOn)).length;
  const total = [...byFile.values()].reduce((n, xs) => n + Math.max(1, xs.length), 0);
  out.push(`<testsuites name="meshcap lint" tests="${total}" failures="${failures}">`);
  for (const [file, xs] of byFile) {
    const fails = xs.filter((f) => atLeast(f.level, failOn)).length;
    out.push(`  <testsuite name="${xml(file)}" tests="${Math.max(1, xs.length)}" failures="${fails}">`);
    if (!xs.length) out.push(`    <testcase classname="meshcap.lint" name="${xml(file)}"/>`);
    for (const f of xs) {
      const where = `${f.span.file}:${f.span.start.line}:${f.span.start.col}`;
      const text = `${where}: ${f.level}[${f.rule}]: ${f.message}${f.hint ? `\nhint: ${f.hint}` : ''}`;
      out.push(`    <testcase classname="meshcap.lint.${f.rule}" name="${xml(`${f.rule} ${where}`)}" file="${xml(f.span.file)}" line="${f.span.start.line}">`);
      if (atLeast(f.level, failOn)) out.push(`      <failure type="${f.level}" message="${xml(f.message)}">${xml(text)}</failure>`);
      else out.push(`      <system-out>${xml(text)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
