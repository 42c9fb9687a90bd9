// orb-learn/emitter, kept for producers that import it from orb-learn: the emitter is its own
// package, @orb-learn/emitter (packages/emitter), which needs only zod and @opentelemetry/api.
export * from '@orb-learn/emitter';
