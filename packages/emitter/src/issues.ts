// A failed zod parse in words: one formatter for every place that reports one.
import type { z } from 'zod';

/** The field an issue names: its path, or for unknown keys the keys themselves. */
export function issueField(issue: z.core.$ZodIssue): string {
  return issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '');
}

/**
 * The first issue of a failed parse as one line, `field: rule` (the rule alone when the value
 * itself failed). `missing`, given, is the rule for a required field that is absent.
 */
export function firstIssue(error: z.ZodError, opts: { missing?: string } = {}): string {
  const i = error.issues[0]!;
  const field = issueField(i);
  const rule = opts.missing !== undefined && i.code === 'invalid_type' && i.input === undefined ? opts.missing : i.message;
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
