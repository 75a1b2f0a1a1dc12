// Argument parsing on node:util's parseArgs, with usage errors instead of exceptions.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { diag, didYouMean } from '../diagnostics/diagnostic.js';
import { UsageError } from './io.js';
import { DEFAULT_DIAGNOSTIC_LIMIT, setDiagnosticLimit } from './report.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
const COMMON = { help: { type: 'boolean', short: 'h' }, 'max-diagnostics': { type: 'string' } } as const;

/** What parseArgs returns for a command's options and the common ones (named, for the library's declarations). */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof COMMON; allowPositionals: true; strict: true }>>;

export function parse<O extends Options>(argv: string[], options: O): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...COMMON }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageOf(e as Error & { code?: string }, [...Object.keys(options), ...Object.keys(COMMON)].map((o) => `--${o}`));
  }
  const max = (parsed.values as Record<string, string | undefined>)['max-diagnostics'];
  if (max !== undefined && !/^\d+$/.test(max)) throw new UsageError('usage-bad-option-value', { detail: `--max-diagnostics takes a whole number (0: all), not '${max}'` });
  setDiagnosticLimit(max === undefined ? DEFAULT_DIAGNOSTIC_LIMIT : Number(max));
  return parsed;
}

/** parseArgs' error as a usage diagnostic: its code says which mistake it is. */
function usageOf(e: Error & { code?: string }, known: string[]): UsageError {
  const message = e.message.replace(/^TypeError \[[A-Z_]+\]: /, '');
  // "Unknown option '--frob'. ...", "Option '-o, --out <value>' argument missing".
  const option = /^(?:Unknown option|Option) '(?:-[^,' ]+, )?(-[^' ]+)/.exec(message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const close = option.startsWith('--') ? didYouMean(option, known) : undefined;
    return new UsageError(close ? diag('usage-unknown-option', undefined, { option }, close) : 'usage-unknown-option', { option });
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /argument missing/.test(message)) return new UsageError('usage-missing-option-value', { option });
  return new UsageError('usage-bad-option-value', { detail: message });
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError('usage-bad-option-value', { detail: `--${name} must be one of: ${allowed.join(', ')} (got '${value}')` });
}

/** Exactly `n` positional arguments (at least one with `'some'`), or a usage error saying `detail`. */
export function expectArgs(positionals: readonly string[], n: number | 'some', detail: string): void {
  if (n === 'some' ? positionals.length === 0 : positionals.length < n) throw new UsageError('usage-missing-argument', { detail });
  if (n !== 'some' && positionals.length > n) throw new UsageError('usage-extra-argument', { detail });
}
