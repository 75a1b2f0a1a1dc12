// meshcap's JSON Schema (draft 2020-12) of the nft JSON it emits, and an ajv validator
// compiled once. Every emitted document is checked against it (tests, and each compile).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type Ajv2020Module from 'ajv/dist/2020.js';

function schemaPath(): string {
  // backends/nftables/ in the source tree; dist/backends/nftables/ after the build.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'schema.json');
    try {
      readFileSync(p);
      return p;
    } catch {
      dir = dirname(dir);
      const alt = join(dir, 'backends', 'nftables', 'schema.json');
      try {
        readFileSync(alt);
        return alt;
      } catch {
        /* keep looking */
      }
    }
  }
  throw new Error('backends/nftables/schema.json not found');
}

let cached: { validate: ValidateFunction } | undefined;

/** The JSON Schema keywords schema.json uses (enough to read it; ajv is what checks). */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  required?: string[];
  additionalProperties?: boolean;
  properties?: Record<string, JsonSchema>;
  dependentRequired?: Record<string, string[]>;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
}

export function nftSchema(): JsonSchema {
  return JSON.parse(readFileSync(schemaPath(), 'utf8')) as JsonSchema;
}

const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true };

/**
 * What the generated validator was made from: schema.json, ajv's version and our options.
 * A change to any of them makes the generated file stale.
 */
function sourceHash(): string {
  const ajvVersion = (createRequire(import.meta.url)('ajv/package.json') as { version: string }).version;
  return createHash('sha256').update(readFileSync(schemaPath())).update(`ajv ${ajvVersion} ${JSON.stringify(AJV_OPTIONS)}`).digest('hex');
}

/**
 * The validator as standalone JavaScript (ajv's code generation). `npm run build` writes it
 * to backends/nftables/schema.validate.cjs (not committed): loading it costs a few
 * milliseconds where compiling the schema costs ~250 ms at the first nftables compile of
 * every process. It carries the hash of the schema it was made from; a stale or missing
 * file is ignored and the schema compiled as before.
 */
export function standaloneValidatorSource(): string {
  const req = createRequire(import.meta.url);
  const Ajv2020 = req('ajv/dist/2020') as { default: typeof Ajv2020Module.default };
  const standalone = req('ajv/dist/standalone') as { default: (ajv: unknown, fn: unknown) => string };
  const ajv = new Ajv2020.default({ ...AJV_OPTIONS, code: { source: true } });
  const code = standalone.default(ajv, ajv.compile(nftSchema()));
  return `// source sha256 ${sourceHash()}\n// Generated from backends/nftables/schema.json by ajv's standalone code generation\n// (backends/nftables/generate-validator.ts, run by npm run build). Do not edit.\n${code}\n`;
}

export function generatedValidatorPath(): string {
  return join(dirname(schemaPath()), 'schema.validate.cjs');
}

/** The generated validator, when it exists, is current and loads; otherwise undefined. */
export function generatedValidator(path = generatedValidatorPath()): ValidateFunction | undefined {
  if (!existsSync(path)) return undefined;
  const head = readFileSync(path, 'utf8').slice(0, 100);
  if (!head.startsWith(`// source sha256 ${sourceHash()}\n`)) return undefined;
  try {
    const v = createRequire(import.meta.url)(resolve(path)) as ValidateFunction;
    return typeof v === 'function' ? v : undefined;
  } catch {
    // A damaged file (a build interrupted mid-write): compiling the schema still works.
    return undefined;
  }
}

/** Write the generated validator (atomically: a compile running meanwhile sees old or new). */
export function writeGeneratedValidator(): string {
  const path = generatedValidatorPath();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, standaloneValidatorSource());
  renameSync(tmp, path);
  return path;
}

function load() {
  if (!cached) {
    let validate = generatedValidator();
    if (!validate) {
      // ajv is loaded when a schema check first runs: commands without nftables output skip it.
      const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020') as { default: typeof Ajv2020Module.default };
      validate = new Ajv2020.default(AJV_OPTIONS).compile(nftSchema());
    }
    cached = { validate };
  }
  return cached;
}

/** Problems of a document against the schema, as "JSON path: message" lines. */
export function validateNft(doc: unknown): string[] {
  const { validate } = load();
  if (validate(doc)) return [];
  return (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '$'}: ${e.message}`);
}
