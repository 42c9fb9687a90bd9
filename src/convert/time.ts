// OTLP times are nanoseconds since the epoch. A time before 2000 or more than a day after receipt
// is refused rather than stored as 1970 or 2400; the reason names the unit it was probably sent in.
const EARLIEST_NS = 946_684_800_000_000_000n; // 2000-01-01T00:00:00Z
const DAY_NS = 86_400_000_000_000n;
const LIKELY_UNITS = [
  ['seconds', 1_000_000_000n],
  ['milliseconds', 1_000_000n],
  ['microseconds', 1_000n],
] as const;

const asDate = (ns: bigint) => {
  const d = new Date(Number(ns / 1_000_000n));
  return Number.isNaN(d.getTime()) ? 'beyond any date' : d.toISOString();
};

/** Why `nanos` cannot be `field`'s time, or null when it can. */
export function timeProblem(field: string, nanos: bigint, receivedAt: Date): string | null {
  const latest = BigInt(receivedAt.getTime()) * 1_000_000n + DAY_NS;
  if (nanos >= EARLIEST_NS && nanos <= latest) return null;
  for (const [unit, factor] of LIKELY_UNITS) {
    const n = nanos * factor;
    if (n >= EARLIEST_NS && n <= latest)
      return `${field}: ${nanos} read as nanoseconds is ${asDate(nanos)}; it looks like ${unit} since the epoch (${asDate(n)}), but OTLP times are nanoseconds`;
  }
  const where = nanos < EARLIEST_NS ? 'before 2000-01-01' : 'more than a day after it was received';
  return `${field}: ${nanos} ns is ${asDate(nanos)}, ${where}`;
}

export const nanosToDate = (n: bigint) => new Date(Number(n / 1_000_000n));
