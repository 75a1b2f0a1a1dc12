// Writes backends/nftables/schema.validate.cjs, the nft JSON Schema's validator as
// standalone code (see backends/nftables/schema.ts); `npm run build` runs it with --write.
// Without --write it says whether the file is current (exit 1 when not).
import { existsSync, readFileSync } from 'node:fs';
import { generatedValidatorPath, standaloneValidatorSource, writeGeneratedValidator } from './schema.js';

const path = generatedValidatorPath();
const source = standaloneValidatorSource();
if (process.argv.includes('--write')) {
  process.stdout.write(`wrote ${writeGeneratedValidator()}\n`);
} else {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  process.stdout.write(current === source ? `${path} is up to date\n` : `${path} is stale: run with --write\n`);
  process.exitCode = current === source ? 0 : 1;
}
