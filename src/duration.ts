// One duration grammar ('90d', '12h', '2w', '30m', '45s', also '1.5d'), for the config and the archive.
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i;

/** '90d', '12h', '2w', '30m', '45s' (also '1.5d') → milliseconds. */
export function parseDuration(s: string): number {
  const m = DURATION.exec(s);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(s)}: expected a number and a unit s, m, h, d or w, such as 90d, 12h or 2w`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (!(ms > 0)) throw new Error(`invalid duration ${JSON.stringify(s)}: must be greater than zero`);
  return ms;
}

function isDuration(s: string): boolean {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}

/** A duration setting, kept as its text; `off`, when allowed, turns the feature off. */
export function durationSetting(message: string, opts: { off?: boolean } = {}) {
  return z.string().refine((s) => (opts.off === true && s === 'off') || isDuration(s), message);
}
