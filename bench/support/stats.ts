/** Summary statistics the benchmarks print, and their progress lines. */

/** The p-th percentile (nearest rank); NaN for no values. */
export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
export const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
export const median = (values: number[]) => percentile(values, 50);
/** A ratio as printed: two decimals from 1 up, two significant digits below. */
export const ratio = (value: number) => (value >= 1 ? value.toFixed(2) : value.toPrecision(2));

/** A progress line for the one running the benchmark (on stderr: stdout is the report). */
export const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
