// Typed errors shared by every stage. Only src/receiver/errors.ts turns them into wire statuses.

/** The request is wrong and will stay wrong: do not retry. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}

/** The request is larger than the configured limits. */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** Not now, but try again: queue full, shutting down, storage briefly failing. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Retryable, because a memory bound is reached (write queue or decode pool bytes): RESOURCE_EXHAUSTED with RetryInfo. */
export class OverloadedError extends RetryableError {
  override name = 'OverloadedError';
}

export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}

/** The work took longer than allowed and was cut off. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

// DuckDB's refusals of a row's content: the same rows fail the same way on every retry. Anything
// else (lock, I/O, out of memory, an invalidated database, interrupts) may pass later.
const PERMANENT_STORE_ERROR = /constraint failed|Constraint Error|Conversion Error|Could not convert|Invalid Input Error|Out of Range Error|out of range for/i;

/** Whether a store error is about the rows themselves (permanent) rather than the moment (transient). */
export function isPermanentStoreError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  if (/invalidated|I\/O Error|IO Error|Out of Memory|lock|conflict|interrupt/i.test(message)) return false;
  return PERMANENT_STORE_ERROR.test(message);
}
