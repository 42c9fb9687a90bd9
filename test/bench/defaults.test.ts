// Benchmarks run from a clean clone: their default inputs are in the repository, not beside it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_EVAL_SET, readEvalSet } from '../../bench/eval-set.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

describe('benchmark defaults', () => {
  it('read the eval set from the repository', () => {
    assert.ok(!relative(PACKAGE_ROOT, DEFAULT_EVAL_SET).startsWith('..'), `${DEFAULT_EVAL_SET} is inside ${PACKAGE_ROOT}`);
    assert.ok(existsSync(DEFAULT_EVAL_SET));
    const set = readEvalSet(DEFAULT_EVAL_SET);
    assert.ok(set.groups.length >= 12 && set.groups.every((g) => g.texts.length >= 2));
  });

  it('name no path outside the repository', () => {
    const dir = join(PACKAGE_ROOT, 'bench');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      assert.doesNotMatch(src, /default: ['"](\/|\.\.\/)/, `${f}: a default path outside the repository`);
    }
  });
});
