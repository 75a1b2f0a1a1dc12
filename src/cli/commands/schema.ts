import { nftSchema } from '../../../backends/nftables/schema.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import type { Command } from './command.js';

export const schemaCmd: Command = {
  name: 'schema',
  summary: 'print the JSON Schema of an output format (nftables)',
  usage: `meshcap schema nftables

Prints meshcap's JSON Schema (draft 2020-12) of the nft JSON it emits. No official schema
of this format exists, and nft silently ignores unknown keys; every compile validates its
output against this one.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {});
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, "schema takes one format: 'nftables'");
    if (positionals[0] !== 'nftables') throw new UsageError('usage-bad-argument', { detail: `schema takes one format: 'nftables' (got '${positionals[0]}')` });
    io.out(JSON.stringify(nftSchema(), null, 2) + '\n');
    return EXIT.ok;
  },
};
