// Chevrotain, loaded from the single-file ES module bundle its package ships
// (lib/chevrotain.mjs, in the published "files"). The package's entry point is the
// unbundled build, which pulls in some three hundred lodash-es modules and made every CLI
// start take half a second before doing anything; the bundle is the same release's code in
// one file and loads in about 30 ms. Should a release stop shipping it, the entry point is
// used instead.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Chevrotain = typeof import('chevrotain');

const entry = createRequire(import.meta.url).resolve('chevrotain'); // .../lib/src/api.js
const bundle = join(dirname(entry), '..', 'chevrotain.mjs');
/** Which build was loaded (a test keeps it the bundle). */
export const loadedFrom: 'bundle' | 'package entry' = existsSync(bundle) ? 'bundle' : 'package entry';
const chevrotain: Chevrotain = loadedFrom === 'bundle' ? ((await import(pathToFileURL(bundle).href)) as Chevrotain) : await import('chevrotain');

export const { createToken, createTokenInstance, CstParser, Lexer, VERSION } = chevrotain;
