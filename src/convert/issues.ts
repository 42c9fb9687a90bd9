// A failed zod parse in words: one formatter for every place that reports one. Defined in the
// emitter package (packages/emitter/src/issues.ts), which producers use without the server.
export { boundRule, firstIssue, issueField, wrongType } from '@orb-learn/emitter';
