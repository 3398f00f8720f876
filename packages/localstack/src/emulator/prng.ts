/**
 * A small seeded pseudo-random generator (mulberry32) for the fault injector.
 *
 * Fault decisions must repeat exactly from one run to the next for a given seed, so tests can
 * assert "with seed 7 and a 30 % failure rate, calls 2, 5 and 9 fail". `Math.random` cannot be
 * seeded, and a cryptographic generator is needless here: this only decides which requests fail.
 */

/** A function returning numbers uniformly spread in [0, 1). */
export type Prng = () => number;

/**
 * Creates a deterministic generator from a 32-bit seed.
 *
 * @param seed - Any integer; only its low 32 bits matter.
 * @returns A generator whose sequence depends only on `seed`.
 * @example
 * ```ts
 * const next = createPrng(42);
 * next(); // same value on every run
 * ```
 */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
