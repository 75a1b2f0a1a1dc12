// A policy's meaning as a string: the typed policy without source spans. Two files mean
// the same policy exactly when their fingerprints are equal, which is what `fmt` and the
// syntax converters promise (and check before they write anything).
import type { Policy } from './ast.js';

export function policyFingerprint(p: Policy): string {
  return JSON.stringify(p, (key, value: unknown) => {
    if (key === 'span' || key === 'file') return undefined;
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
}
