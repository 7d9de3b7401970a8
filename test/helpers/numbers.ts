// Comparing JSON results computed on different platforms, where float32 sums may run in another order.

/**
 * The largest absolute difference between corresponding numbers of two JSON values of the same shape; Infinity
 * when the shapes differ (a key, a length, a type) or a non-number leaf differs, NaN when a number is NaN on one
 * side only. 0 means deep-equal.
 */
export function largestNumberDifference(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b) ? 0 : Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    return a.reduce((m: number, x, i) => Math.max(m, largestNumberDifference(x, b[i])), 0);
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = Object.keys(a).sort();
    if (keys.join("\0") !== Object.keys(b).sort().join("\0")) return Infinity;
    return keys.reduce((m, k) => Math.max(m, largestNumberDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])), 0);
  }
  return a === b ? 0 : Infinity;
}
