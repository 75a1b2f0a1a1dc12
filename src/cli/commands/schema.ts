import { nftSchema } from '../../../backends/nftables/schema.js';
import { configSchema } from '../../lint/config.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import type { Command } from './command.js';

export const schemaCmd: Command = {
  name: 'schema',
  summary: 'print a JSON Schema: the nft JSON meshcap emits (nftables), lint\'s configuration (lint-config)',
  usage: `meshcap schema nftables
meshcap schema lint-config

nftables: meshcap's JSON Schema (draft 2020-12) of the nft JSON it emits. No official
schema of this format exists, and nft silently ignores unknown keys; every compile
validates its output against this one.
lint-config: the JSON Schema (draft-07) of .meshcap.yaml, which lint validates it against
(editors with a YAML language server can use it too).`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {});
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, "schema takes one format: 'nftables' or 'lint-config'");
    if (positionals[0] === 'lint-config') return (io.out(JSON.stringify(configSchema(), null, 2) + '\n'), EXIT.ok);
    if (positionals[0] !== 'nftables') throw new UsageError('usage-bad-argument', { detail: `schema takes one format: 'nftables' or 'lint-config' (got '${positionals[0]}')` });
    io.out(JSON.stringify(nftSchema(), null, 2) + '\n');
    return EXIT.ok;
  },
};
