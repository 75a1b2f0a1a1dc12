import { describe, expect, it } from 'vitest';
import { loadText } from '../src/language/load.js';

describe('smoke', () => {
  it('loads the default spec text', () => {
    const r = loadText('x.intercept', 'policy x {\n  inbound { capture ports * }\n}\n', 'intercept');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.policy?.inbound.capturePorts.value.kind).toBe('all');
  });
});
