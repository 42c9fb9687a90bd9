// The instrumentation scope of orb-learn's own spans and metrics.
export const SELF_SCOPE = 'orb-learn';
