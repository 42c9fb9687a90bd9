// The deliberate public TypeScript surface of orb-learn.
export { ExecutionRecord, ExecutionRow, ERROR_TYPES, type ExecutionRecordInput } from './convert/record.js';
export { loadConfig, type Config } from './config/config.js';
export { startServer, type RunningServer } from './server/server.js';
export { createLogger } from './telemetry/log.js';
export { QueryLibrary, type QueryResult } from './query/library.js';
export { openQueries, type OpenQueries, type OpenQueriesOptions } from './query/open.js';
export { QUERY_NAMES, QUERY_PARAMS, type QueryName, type QueryParams } from './query/params.js';
