// One byte-size grammar ('512MB', '1.5GiB', '64KB'), for the config and DuckDB's size settings.
// DuckDB reads KB/MB/GB as powers of 1000 and KiB/MiB/GiB as powers of 1024; so does this.
import { z } from 'zod';

const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$/i;

/** '512MB' → 512000000, '1GiB' → 1073741824. */
export function parseSize(s: string): number {
  const m = SIZE.exec(s);
  if (!m) throw new Error(`invalid size ${JSON.stringify(s)}: expected a number and a unit B, KB, MB, GB, KiB, MiB or GiB, such as 512MB`);
  return Math.floor(Number(m[1]) * UNIT_BYTES[m[2]!.toLowerCase()]!);
}

/** A size setting, kept as its text (DuckDB takes it as is). */
export function sizeSetting(message = 'expected a size such as 256MB', min = 1) {
  return z.string().refine((s) => SIZE.test(s) && parseSize(s) >= min, message);
}
