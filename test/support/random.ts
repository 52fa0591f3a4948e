/**
 * A seeded random source (mulberry32), so that a generated test case can be
 * replayed: `random(n)` is an integer from 0 to n - 1. (An LCG's low bits,
 * which `% n` keeps, cycle within a few hundred draws.)
 */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed | 0;
  return (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
}
