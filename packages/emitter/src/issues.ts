// A failed zod parse in words: one formatter for every place that reports one.
import type { z } from 'zod';

/** The field an issue names: its path, or for unknown keys the keys themselves. */
export function issueField(issue: z.core.$ZodIssue): string {
  return issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '');
}

const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v));

/**
 * What was wrong with a value of the wrong type (the issue must come from a parse with
 * reportInput, so that a value given is told from one missing): NaN is not "missing".
 */
export function wrongType(issue: z.core.$ZodIssueInvalidType, missing?: string): string {
  const v = issue.input;
  if (v === undefined) return missing ?? issue.message;
  if (typeof v === 'number' && !Number.isFinite(v)) return `must be a finite number, got ${v}`;
  if (typeof v === 'number' && issue.expected === 'int') return `must be an integer, got ${v}`;
  const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `the string ${shown(v)}` : `${typeof v} ${shown(v)}`;
  const want: Record<string, string> = { int: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean', date: 'a date' };
  return `expected ${want[issue.expected] ?? issue.expected}, got ${got}`;
}

/**
 * The first issue of a failed parse as one line, `field: rule` (the rule alone when the value
 * itself failed). `missing`, given, is the rule for a required field that is absent.
 */
export function firstIssue(error: z.ZodError, opts: { missing?: string } = {}): string {
  const i = error.issues[0]!;
  const field = issueField(i);
  const rule = i.code === 'invalid_type' ? wrongType(i, opts.missing) : i.message;
  return `${field ? `${field}: ` : ''}${rule}`;
}

/**
 * The bound a value broke, in words ('must be ≥ 0', 'must be one of a, b'), for the issues about a
 * value's range; undefined for the others (a string's length keeps zod's own message).
 */
export function boundRule(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'string' ? undefined : `must be ${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return undefined;
  }
}
