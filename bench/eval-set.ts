// The shared eval set (../shared/eval/similar-tasks.jsonl): one JSON line per group of task
// descriptions that mean the same kind of task.
import { readFileSync } from 'node:fs';

export interface EvalGroup {
  group: string;
  texts: string[];
}

export interface EvalSet {
  groups: EvalGroup[];
  /** Every text with its group, in file order. */
  items: { group: string; text: string }[];
}

export function readEvalSet(path: string): EvalSet {
  const groups = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalGroup);
  return { groups, items: groups.flatMap((g) => g.texts.map((text) => ({ group: g.group, text }))) };
}

/** The set's texts, or two stand-ins where the set is not there (benchmarks that only need realistic text). */
export function evalTexts(path: string): string[] {
  try {
    return readEvalSet(path).items.map((i) => i.text);
  } catch {
    return ['Refactor the authentication middleware to use JWT validation', 'Fix flaky integration tests that fail intermittently on CI'];
  }
}
