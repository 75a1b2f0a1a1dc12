// meshcap's JSON Schema (draft 2020-12) of the nft JSON it emits, and an ajv validator
// compiled once. Every emitted document is checked against it (tests, and each compile).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

let cached: { schema: unknown; validate: ValidateFunction } | undefined;

export function nftSchema(): unknown {
  return load().schema;
}

function load() {
  if (!cached) {
    const schema = JSON.parse(readFileSync(schemaPath(), 'utf8'));
    // ajv is loaded when a schema check first runs: commands without nftables output skip it.
    const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020') as { default: typeof Ajv2020Module.default };
    const ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true });
    cached = { schema, validate: ajv.compile(schema) };
  }
  return cached;
}

/** Problems of a document against the schema, as "JSON path: message" lines. */
export function validateNft(doc: unknown): string[] {
  const { validate } = load();
  if (validate(doc)) return [];
  return (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '$'}: ${e.message}`);
}
