// `.meshcap.yaml`: found upward from the working directory (or named with --config),
// validated with ajv against the JSON Schema meshcap ships (`meshcap schema lint-config`),
// and merged under the command line's flags (flags > config > defaults).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Document, Node, Pair, Scalar } from 'yaml';
import type { Ajv as AjvType, ErrorObject } from 'ajv';
import { diag, suggest, type Diagnostic } from '../diagnostics/diagnostic.js';
import { SourceFile, type Span } from '../source.js';
import { docsBase } from '../compile/version.js';
import { RULES, type Level } from './rules.js';

const require = createRequire(import.meta.url);
type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const Y = (): YamlLib => (yamlLib ??= require('yaml') as YamlLib);

export const CONFIG_NAMES = ['.meshcap.yaml', '.meshcap.yml'];

export function configSchema() {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${docsBase()}/schemas/lint-config.json`,
    title: 'meshcap lint configuration (.meshcap.yaml)',
    type: 'object',
    additionalProperties: false,
    properties: {
      rules: {
        description: 'Level per rule id: off, info, warning or error (default: the rule\'s own level; `meshcap explain --list`).',
        type: 'object',
        propertyNames: { enum: Object.keys(RULES) },
        additionalProperties: { enum: ['off', 'info', 'warning', 'error'] },
      },
      ignore: { description: 'Paths not linted: globs (`*`, `**`, `?`) relative to this file\'s folder.', type: 'array', items: { type: 'string', minLength: 1 } },
      failOn: { description: 'The least level that fails the run (exit 1); default warning.', enum: ['error', 'warning', 'info'] },
      meshValues: { description: "Istio's Helm values or IstioOperator, Linkerd's chart values or a kuma-cp config file with the mesh defaults, relative to this file.", type: 'string', minLength: 1 },
      clusterCidrs: { description: "The cluster's pod and service CIDRs (cluster-cidr-excluded).", type: 'array', items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+/\\d{1,3}$' } },
      docsUrl: { description: "Where the documentation is published (SARIF helpUri: DOCS_URL/lint.md#RULE-ID); default: package.json homepage + /blob/main/docs.", type: 'string', pattern: '^https?://\\S+$' },
      dnsServers: { description: "The pods' DNS servers (resolv.conf), which DNS capture names; default 10.96.0.10.", type: 'array', items: { type: 'string', minLength: 1 } },
    },
  } as const;
}

export interface LintConfigFile {
  path: string;
  dir: string;
  rules: Record<string, Level | 'off'>;
  ignore: string[];
  failOn?: Level;
  meshValues?: string;
  clusterCidrs: string[];
  dnsServers?: string[];
  docsUrl?: string;
}

/** The nearest `.meshcap.yaml` from `dir` upward, or undefined. */
export function findConfig(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    for (const n of CONFIG_NAMES) if (existsSync(join(d, n))) return join(d, n);
    if (dirname(d) === d) return undefined;
  }
}

let validator: ReturnType<AjvType['compile']> | undefined;

export function loadConfig(path: string, text: string): { config?: LintConfigFile; diagnostics: Diagnostic[] } {
  const src = new SourceFile(path, text);
  const doc = Y().parseDocument(text) as Document;
  if (doc.errors.length) {
    const e = doc.errors[0];
    return { diagnostics: [diag('yaml-syntax', src.span(e.pos[0], Math.max(e.pos[0] + 1, e.pos[1])), { detail: e.message.split('\n')[0] }, '')] };
  }
  const data = (doc.toJS() ?? {}) as unknown;
  if (!validator) {
    const AjvClass = (require('ajv') as { default: new (o: object) => AjvType }).default;
    validator = new AjvClass({ allErrors: true, strict: true }).compile(configSchema());
  }
  if (!validator(data)) {
    const ds = (validator.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => diag('lint-config-invalid', spanAt(src, doc, e), { path, detail: describe(e) }, hintOf(e)));
    return { diagnostics: dedupe(ds) };
  }
  const d = data as Partial<LintConfigFile>;
  return {
    config: { path, dir: dirname(resolve(path)), rules: d.rules ?? {}, ignore: d.ignore ?? [], failOn: d.failOn, meshValues: d.meshValues, clusterCidrs: d.clusterCidrs ?? [], dnsServers: d.dnsServers, docsUrl: d.docsUrl },
    diagnostics: [],
  };
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.span?.start.offset}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'the file';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at} has no setting '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case 'propertyNames':
      return `'${(e.params as { propertyName: string }).propertyName}' is not a lint rule`;
    case 'enum':
      return `${at} must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
    case 'pattern':
      return `${at} must be a CIDR (ADDRESS/PREFIX)`;
    default:
      return `${at} ${e.message ?? 'is not valid'}`;
  }
}

function hintOf(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return suggest((e.params as { additionalProperty: string }).additionalProperty, Object.keys(configSchema().properties));
  if (e.keyword === 'propertyNames') return suggest((e.params as { propertyName: string }).propertyName, Object.keys(RULES));
  return "'meshcap schema lint-config' prints the schema";
}

/** The YAML node an ajv error is about (its key for a bad key), as a span. */
function spanAt(src: SourceFile, doc: Document, e: ErrorObject): Span {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const bad = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : e.keyword === 'propertyNames' ? (e.params as { propertyName: string }).propertyName : undefined;
  let node = doc.contents;
  let keyNode: Node | undefined;
  for (const p of [...parts, ...(bad !== undefined ? [bad] : [])]) {
    if (Y().isMap(node)) {
      const pair = (node.items as Pair<Scalar, Node>[]).find((x) => Y().isScalar(x.key) && String(x.key.value) === p);
      keyNode = pair?.key ?? undefined;
      node = pair?.value ?? null;
    } else if (Y().isSeq(node)) node = (node.items[Number(p)] as Node) ?? null;
    else break;
  }
  const target = bad !== undefined ? keyNode : (node ?? keyNode);
  const r = target?.range ?? [0, 1];
  return src.span(r[0], Math.max(r[0] + 1, r[1]));
}

/** A glob (`*`: within a path segment, `**`: any number of segments, `?`: one character) as a RegExp. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  const g = glob.replace(/^\.\//, '');
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*' && g[i + 1] === '*') {
      const slash = g[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A glob without a slash matches the name at any depth, as .gitignore does; a folder matches what is under it.
  return new RegExp(`^${g.includes('/') ? '' : '(?:.*/)?'}${re}(?:/.*)?$`);
}
