// The tree is the pipeline: each layer imports only from the layers below it (and from
// its own folder). Imports are read with TypeScript's own pre-processor, so dynamic
// imports and `export ... from` count too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

/** Bottom first. A file belongs to the first entry that is its path or a folder above it. */
export const LAYERS: string[][] = [
  ['src/net'],
  ['src/source.ts'],
  ['src/diagnostics'],
  ['src/ir'],
  ['src/sim', 'grammar'],
  ['src/language'],
  ['src/lower', 'src/verify', 'src/import'],
  ['src/manifest'],
  ['src/meaning'],
  ['backends'],
  ['src/optimize'],
  ['src/compile'],
  ['src/lint'],
  ['src/cli'],
  ['src/api.ts'],
];

/** Code that is not part of the product: it may import anything; nothing above may import it. */
const OUTSIDE = ['test', 'bench'];

function place(file: string): { layer: number; unit: string } | undefined {
  for (let i = 0; i < LAYERS.length; i++) {
    for (const unit of LAYERS[i]) if (file === unit || file.startsWith(unit + '/')) return { layer: i, unit };
  }
  return undefined;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(join(root, file)), s)).split(sep).join('/').replace(/\.js$/, '.ts'));
}

/** Every import that goes against the order, as `from -> to (why)`. */
export function violations(files: string[], read: (f: string) => string[] = importsOf): string[] {
  const out: string[] = [];
  for (const f of files) {
    const from = place(f);
    for (const to of read(f)) {
      if (OUTSIDE.some((o) => to.startsWith(o + '/'))) {
        if (from) out.push(`${f} -> ${to} (product code imports a test or benchmark file)`);
        continue;
      }
      const dest = place(to);
      if (!dest) {
        out.push(`${f} -> ${to} (not in any layer: add its folder to LAYERS)`);
        continue;
      }
      if (!from || from.unit === dest.unit) continue;
      if (dest.layer >= from.layer) out.push(`${f} -> ${to} (${from.unit} may import only layers below it; ${dest.unit} is ${dest.layer === from.layer ? 'beside' : 'above'} it)`);
    }
  }
  return out;
}

const productFiles = ['src', 'grammar', 'backends'].flatMap(tsFiles);

describe('layering', () => {
  it('every product file has a layer', () => {
    expect(productFiles.filter((f) => !place(f))).toEqual([]);
  });

  it('no import goes against the order (product, tests and benchmarks)', () => {
    expect(violations([...productFiles, ...OUTSIDE.flatMap(tsFiles)])).toEqual([]);
  });

  it('no product file is over 500 lines without saying why at its top', () => {
    const long = productFiles.filter((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      const head = text.split('\n').slice(0, 12).join('\n');
      return text.split('\n').length > 500 && !/over 500 lines/.test(head);
    });
    expect(long).toEqual([]);
  });

  it('finds an import against the order, one beside it, and one into the tests', () => {
    const fake: Record<string, string[]> = {
      'src/ir/types.ts': ['src/cli/main.ts'],
      'src/lower/lower.ts': ['src/verify/engine.ts'],
      'backends/index.ts': ['test/harness/battery.ts', 'src/net/ip.ts'],
      'src/sim/simulate.ts': ['src/sim/packet.ts', 'src/nowhere/x.ts'],
    };
    const v = violations(Object.keys(fake), (f) => fake[f]);
    expect(v).toHaveLength(4);
    expect(v[0]).toMatch(/^src\/ir\/types\.ts -> src\/cli\/main\.ts \(.*above/);
    expect(v[1]).toMatch(/beside/);
    expect(v[2]).toMatch(/test or benchmark/);
    expect(v[3]).toMatch(/not in any layer/);
  });
});
