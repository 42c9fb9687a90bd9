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

export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}

/** The work took longer than allowed and was cut off. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}
