// SARIF as code-scanning tools read it: the structure SARIF 2.1.0 requires (checked with
// ajv against the required parts of the standard's schema, written here from the
// standard's text: sarifLog, run, tool, toolComponent, reportingDescriptor, result,
// message, location, physicalLocation, artifactLocation, region), help URIs under the
// documented base (package.json homepage, overridden by --docs-url or `docsUrl`), and
// the configuration schema's $id under the same base, shipped as docs/schemas/lint-config.json.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docsBase } from '../src/compile/version.js';
import { configSchema } from '../src/lint/config.js';
import { SARIF_SCHEMA } from '../src/lint/format.js';
import { RULES } from '../src/lint/rules.js';
import { cli, scratchDir } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const bookinfo = join(root, 'test', 'fixtures', 'lint', 'bookinfo.yaml');
const scratch = scratchDir('meshcap-sarif-');
afterAll(() => scratch.cleanup());

const text = { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 }, markdown: { type: 'string' } } };
const uri = { type: 'string', pattern: '^https?://[^\\s]+$' };
/** The parts of the SARIF 2.1.0 schema a result log must satisfy (required properties, types, enums). */
const SARIF_REQUIRED = {
  type: 'object',
  required: ['version', 'runs'],
  properties: {
    $schema: { const: SARIF_SCHEMA },
    version: { const: '2.1.0' },
    runs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['tool'],
        properties: {
          tool: {
            type: 'object',
            required: ['driver'],
            properties: {
              driver: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  version: { type: 'string' },
                  informationUri: uri,
                  rules: {
                    type: 'array',
                    items: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, shortDescription: text, fullDescription: text, help: text, helpUri: uri, defaultConfiguration: { type: 'object', properties: { level: { enum: ['none', 'note', 'warning', 'error'] } } } } },
                  },
                },
              },
            },
          },
          columnKind: { enum: ['utf16CodeUnits', 'unicodeCodePoints'] },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['message'],
              properties: {
                ruleId: { type: 'string' },
                ruleIndex: { type: 'integer', minimum: -1 },
                level: { enum: ['none', 'note', 'warning', 'error'] },
                message: text,
                partialFingerprints: { type: 'object', additionalProperties: { type: 'string' } },
                locations: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      physicalLocation: {
                        type: 'object',
                        required: ['artifactLocation'],
                        properties: {
                          // A relative reference (no scheme, no leading slash): repository-relative.
                          artifactLocation: { type: 'object', required: ['uri'], properties: { uri: { type: 'string', pattern: '^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?!/)\\S+$' } } },
                          region: { type: 'object', properties: { startLine: { type: 'integer', minimum: 1 }, startColumn: { type: 'integer', minimum: 1 }, endLine: { type: 'integer', minimum: 1 }, endColumn: { type: 'integer', minimum: 1 } } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const Ajv = (createRequire(import.meta.url)('ajv') as { default: new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } } }).default;
const validate = new Ajv({ allErrors: true, strict: false }).compile(SARIF_REQUIRED);

interface Log {
  runs: { tool: { driver: { informationUri: string; rules: { id: string; helpUri: string }[] } } }[];
}
const sarif = (...args: string[]) => {
  const r = cli('lint', '--no-config', bookinfo, '--format', 'sarif', '--base', root, ...args);
  return { ...r, log: r.code === 1 ? (JSON.parse(r.stdout) as Log) : undefined };
};

describe('lint SARIF', () => {
  it('has the structure SARIF 2.1.0 requires, with repository-relative artifact URIs', () => {
    const r = sarif();
    expect(r.code).toBe(1);
    const ok = validate(JSON.parse(r.stdout));
    expect(ok, JSON.stringify(validate.errors)).toBe(true);
    // The check fails what it should: an absolute artifact URI, a missing message.
    const bad = JSON.parse(r.stdout) as { runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[]; message?: unknown }[] }[] };
    bad.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = `file://${bookinfo}`;
    expect(validate(bad)).toBe(false);
    delete bad.runs[0].results[1].message;
    expect(validate(bad)).toBe(false);
  });

  it("points every rule's helpUri at docs/lint.md under package.json's homepage, an anchor per rule that docs/lint.md has", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { homepage: string; repository: { url: string } };
    expect(pkg.homepage).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+#readme$/);
    expect(pkg.repository.url).toContain(pkg.homepage.replace(/^https:\/\//, '').replace(/#readme$/, ''));
    expect(docsBase()).toBe(`${pkg.homepage.replace(/#readme$/, '')}/blob/main/docs`);
    const log = sarif().log!;
    const doc = readFileSync(join(root, 'docs', 'lint.md'), 'utf8');
    expect(log.runs[0].tool.driver.informationUri).toBe(`${docsBase()}/lint.md`);
    for (const rule of log.runs[0].tool.driver.rules) {
      expect(rule.helpUri).toBe(`${docsBase()}/lint.md#${rule.id}`);
      expect(doc).toContain(`### \`${rule.id}\``); // GitHub's anchor for the heading is the id
    }
    expect(log.runs[0].tool.driver.rules.length).toBe(Object.keys(RULES).length);
  });

  it('takes the docs base from --docs-url, else from docsUrl in .meshcap.yaml; a bad URL is a usage error', () => {
    const mirror = 'https://docs.example.com/meshcap/v0.1';
    expect(sarif('--docs-url', mirror).log!.runs[0].tool.driver.rules[0].helpUri).toBe(`${mirror}/lint.md#${Object.keys(RULES)[0]}`);
    const cfg = scratch.write('docs-url.yaml', 'docsUrl: https://internal.example/meshcap/docs\n');
    const r = cli('lint', '--config', cfg, bookinfo, '--format', 'sarif', '--base', root);
    expect((JSON.parse(r.stdout) as Log).runs[0].tool.driver.informationUri).toBe('https://internal.example/meshcap/docs/lint.md');
    const both = cli('lint', '--config', cfg, '--docs-url', mirror, bookinfo, '--format', 'sarif', '--base', root);
    expect((JSON.parse(both.stdout) as Log).runs[0].tool.driver.informationUri).toBe(`${mirror}/lint.md`); // flags > config
    expect(sarif('--docs-url', 'docs/lint').code).toBe(3);
    const badCfg = scratch.write('bad-url.yaml', 'docsUrl: not a url\n');
    expect(cli('lint', '--config', badCfg, bookinfo).code).toBe(2);
  });

  it("gives the configuration schema an $id under the docs base, shipped there (docs/schemas/lint-config.json, not stale)", () => {
    const s = configSchema();
    expect(s.$id).toBe(`${docsBase()}/schemas/lint-config.json`);
    expect(s.$id).not.toMatch(/\.invalid|example/);
    const shipped = readFileSync(join(root, 'docs', 'schemas', 'lint-config.json'), 'utf8');
    expect(shipped, 'stale: node dist/src/cli/main.js schema lint-config > docs/schemas/lint-config.json').toBe(JSON.stringify(s, null, 2) + '\n');
  });
});
