// Quality policies over HTTP (docs/quality-policies.md, "Over HTTP"): what `orb-learn policy …`
// does on the file, for when a running server holds it. Same functions, same JSON.
//   GET  /v1/policies                     list
//   GET  /v1/policies/history?repo=&limit= history
//   PUT  /v1/policies/<repo>              set (repo URL-encoded; '/' may be raw or %2F)
//   POST /v1/policies/adjust[?apply=true] adjust
// Everything under /v1/ is behind the receiver's bearer auth when it is on.
import type { IncomingMessage } from 'node:http';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { firstIssue } from '../convert/issues.js';
import { adjustPolicies } from '../policy/adjust.js';
import { listPolicies, parsePolicyInput, policyHistory, setPolicy } from '../policy/policies.js';
import { NotFoundError, type HttpReply } from '../receiver/errors.js';
import { readBody, type HttpReceiver } from '../receiver/http.js';
import type { Store } from '../store/db.js';

export const POLICIES_PATH = '/v1/policies';
const PREFIX = `${POLICIES_PATH}/`;
const MAX_BODY_BYTES = 64 * 1024;

const json = (status: number, body: unknown): HttpReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(body)),
});

const Flag = z.enum(['true', 'false', '1', '0']).optional();
const Limit = z.coerce.number().int().positive().optional();

/** A query parameter through a zod schema; the error names the parameter. */
function param<T>(url: URL, name: string, schema: z.ZodType<T>): T {
  const raw = url.searchParams.get(name) ?? undefined;
  const r = schema.safeParse(raw);
  if (!r.success) throw new InvalidInputError(`policy: ${name}: ${firstIssue(r.error)}`);
  return r.data;
}

/** The body of PUT: the fields `policy set` takes (its own schema), plus the reason. */
function parseSetBody(repo: string, text: string): { input: ReturnType<typeof parsePolicyInput>; reason: string | undefined } {
  let raw: unknown = {};
  // An empty body is `policy set --repo R`: create with the defaults, or change nothing.
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new InvalidInputError(`policy: malformed JSON body: ${(err as Error).message}`);
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidInputError('policy: the body must be a JSON object');
  const { reason, ...fields } = raw as Record<string, unknown>;
  if (reason !== undefined && typeof reason !== 'string') throw new InvalidInputError('policy: reason: must be a string');
  // The path names the repository; a body that names another is a mistake, not an override.
  if (fields.repo !== undefined && fields.repo !== repo)
    throw new InvalidInputError(`policy: repo: ${JSON.stringify(fields.repo)} in the body does not match ${JSON.stringify(repo)} in the path`);
  return { input: parsePolicyInput({ ...fields, repo }), reason };
}

function repoFromPath(rest: string): string {
  try {
    return decodeURIComponent(rest);
  } catch {
    throw new InvalidInputError(`policy: repo: malformed percent-encoding in ${JSON.stringify(rest)}`);
  }
}

/** Registers the policy routes on http. Each request gets its own connection, closed after it; onChange follows every write. */
export function policyRoutes(http: HttpReceiver, store: Pick<Store, 'connect' | 'writer'>, onChange: () => void = () => undefined): HttpReceiver {
  const withConnection = async <T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> => {
    const conn = await store.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  };
  // Policy writes queue behind each other: two on the same policy row at once would make DuckDB
  // abort one with a write conflict. Ingest commits on the writer's connection in parallel.
  let writes: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> => {
    const next = writes.then(() => withConnection(fn));
    writes = next.catch(() => undefined);
    return next;
  };

  const history = (url: URL) => {
    const opts = { repo: url.searchParams.get('repo') ?? undefined, limit: param(url, 'limit', Limit) };
    return withConnection((conn) => policyHistory(conn, opts));
  };

  const adjust = async (url: URL) => {
    const flag = param(url, 'apply', Flag);
    const apply = flag === 'true' || flag === '1';
    const report = await serialized(async (conn) => {
      // Summaries are merged about once a second: merge now, so every committed execution counts.
      await store.writer.flushSummaries();
      return adjustPolicies(conn, { apply });
    });
    if (apply) onChange();
    return json(200, report);
  };

  const set = async (rest: string, req: IncomingMessage) => {
    const { input, reason } = parseSetBody(repoFromPath(rest), (await readBody(req, MAX_BODY_BYTES)).toString('utf8'));
    const r = await serialized((conn) => setPolicy(conn, input, reason));
    onChange();
    return json(r.created ? 201 : 200, r);
  };

  const unknown = (method: string | undefined, url: URL): never => {
    throw new NotFoundError(`no policy route ${method} ${url.pathname}: known are GET ${POLICIES_PATH}, GET ${PREFIX}history, PUT ${PREFIX}<repo>, POST ${PREFIX}adjust`);
  };

  // One prefix route per method, dispatched here, so that PUT /v1/policies/history sets the
  // policy of a repository named "history" instead of hitting the history route.
  return http
    .route('GET', POLICIES_PATH, async () => json(200, await withConnection(listPolicies)))
    .route('GET', PREFIX, async (req, url) => {
      const rest = url.pathname.slice(PREFIX.length);
      if (rest === '') return json(200, await withConnection(listPolicies));
      if (rest === 'history') return json(200, await history(url));
      return unknown(req.method, url);
    })
    .route('POST', PREFIX, async (req, url) => (url.pathname === `${PREFIX}adjust` ? adjust(url) : unknown(req.method, url)))
    .route('PUT', PREFIX, async (req, url) => set(url.pathname.slice(PREFIX.length), req));
}
