// A small seeded PRNG (mulberry32) for tests that generate policies: the fmt property
// tests and the kernel oracle's random policies. The same seed gives the same choices on
// every machine.

/**
 * The random choices of one generated policy, all from one seed. The fmt property tests
 * draw the seed with fast-check (which reports it with a failure, so that the run can be
 * replayed) and take the hundreds of small choices a policy and its layout need from
 * this, far cheaper than drawing each from fast-check; the kernel oracle's random
 * policies use fixed seeds.
 */
export class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32 */
  private next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
  some<T>(xs: readonly T[], min = 0): T[] {
    const out = xs.filter(() => this.chance(50));
    while (out.length < min) out.push(this.pick(xs));
    return out;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  /** Between min and max distinct items of xs, in random order. */
  sample<T>(xs: readonly T[], min = 1, max = xs.length): T[] {
    const n = this.int(min, Math.min(max, xs.length));
    const pool = [...xs];
    const out: T[] = [];
    while (out.length < n) out.push(pool.splice(this.int(0, pool.length - 1), 1)[0]);
    return out;
  }
  list<T>(min: number, max: number, f: () => T): T[] {
    return Array.from({ length: this.int(min, max) }, f);
  }
}
