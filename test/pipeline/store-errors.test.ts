// The one classifier of store errors: permanent (the rows themselves) or transient (the moment).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPermanentStoreError } from '../../src/errors.js';

describe('isPermanentStoreError', () => {
  it('calls refusals of a row permanent', () => {
    for (const m of [
      'Failed to append: NOT NULL constraint failed: executions.quality_score',
      'Constraint Error: CHECK constraint failed on table executions with expression CHECK((quality_score < 100))',
      "Conversion Error: Could not convert string 'x' to INT32",
      'Invalid Input Error: Failed to cast value',
      'Out of Range Error: Overflow in multiplication of INT32',
    ])
      assert.equal(isPermanentStoreError(new Error(m)), true, m);
  });
  it('calls the moment transient, and anything unknown too (retrying is the safe default)', () => {
    for (const m of [
      'IO Error: Could not write file "x.wal": No space left on device',
      'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.',
      'Out of Memory Error: failed to allocate data of size 16.0 MiB (1.0 GiB/1.0 GiB used)',
      'IO Error: Could not set lock on file "x.duckdb": Conflicting lock is held',
      'TransactionContext Error: Catalog write-write conflict on alter with "executions"',
      'INTERRUPT Error: Interrupted!',
      'something nobody has seen',
    ])
      assert.equal(isPermanentStoreError(new Error(m)), false, m);
  });
});
