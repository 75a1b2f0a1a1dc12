// Throwaway network namespaces for kernel tests. Each test gets its own namespace, which
// is deleted afterwards whatever happens; nothing is connected to the host namespace.
import { execFileSync, spawnSync } from 'node:child_process';

let counter = 0;

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'kernel tests need root (they create network namespaces)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `'ip netns' does not work here: ${r.stderr || r.error?.message}`;
  return undefined;
}

/** Fail loudly (never skip) when the kernel tests cannot run. */
export function requireKernel(): void {
  const why = kernelUnavailable();
  if (why) {
    const msg = `KERNEL TESTS CANNOT RUN: ${why}. Run the test suite as root (CI does).`;
    process.stderr.write(`\n*** ${msg} ***\n\n`);
    throw new Error(msg);
  }
}

export function run(ns: string, cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
}

export function withNetns<T>(fn: (ns: string) => T): T {
  const ns = `mc-${process.pid}-${++counter}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    return fn(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
