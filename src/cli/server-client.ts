// How every HTTP-speaking command (query, feedback add, policy) reaches a running server: one
// `--server URL` (http or https), one bearer token, one set of TLS options, and errors that say
// what to try instead of "fetch failed".
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { Option } from 'commander';
import { authTokenOf, type Config } from '../config/config.js';
import { splitHostPort } from '../host.js';
import { addSettings } from './common.js';

export interface ServerTarget {
  /** The base URL, without a trailing slash. */
  base: string;
  /** Named by --server or ORB_SERVER, so the command must not fall back to a file. */
  explicit: boolean;
  token?: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export interface ServerAnswer {
  status: number;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

/** The server could not be reached (no HTTP answer at all); `message` says what to try. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
  constructor(
    message: string,
    /** Nothing listens there (connection refused): the one case a command may fall back to the file. */
    readonly refused: boolean,
  ) {
    super(message);
  }
}

const REQUEST_TIMEOUT_MS = 60_000;
const GRPC_PORT = '4317';

/** --server, the token and the TLS options, with the same spelling on every command. */
export function addServerOptions(cmd: Command, serverHelp: string): Command {
  cmd
    .addOption(new Option('--server <URL>', `${serverHelp} (env ORB_SERVER); http://HOST:PORT or https://HOST:PORT`))
    .addOption(new Option('--ca <FILE>', 'PEM CA bundle that signed the server certificate, for https (env ORB_CA; default: the system roots)'))
    .addOption(new Option('--client-cert <FILE>', 'PEM client certificate, for a server that requires one (env ORB_CLIENT_CERT)'))
    .addOption(new Option('--client-key <FILE>', 'PEM key of --client-cert (env ORB_CLIENT_KEY)'));
  return addSettings(cmd, [
    ['authToken', 'TOKEN', 'bearer token the server requires (env ORB_AUTH_TOKEN)'],
    ['authTokenFile', 'FILE', 'file holding that token (env ORB_AUTH_TOKEN_FILE)'],
  ]);
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * Where the command's server is: --server, else ORB_SERVER, else the address the settings give
 * `serve` (--config / ORB_HTTP; 127.0.0.1:4318 by default), over https when they give it a
 * certificate. Throws with one line when a value is unusable.
 */
export function serverTarget(opts: Record<string, unknown>, config: Config, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  const given = (opts.server as string | undefined) ?? (env.ORB_SERVER || undefined);
  let raw = given;
  if (raw === undefined) {
    const { host, port } = splitHostPort(config.http);
    const local = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
    raw = `${config.tlsCert ? 'https' : 'http'}://${local.includes(':') ? `[${local}]` : local}:${port}`;
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  if (!URL.canParse(withScheme)) throw new Error(`--server: not a URL: ${JSON.stringify(raw)} (e.g. http://127.0.0.1:4318 or https://orb.example:4318)`);
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--server: ${url.protocol}// is not spoken here: give http:// or https://`);
  const pick = (flag: string, envName: string) => (opts[flag] as string | undefined) ?? (env[envName] || undefined);
  const ca = pick('ca', 'ORB_CA');
  const cert = pick('clientCert', 'ORB_CLIENT_CERT');
  const key = pick('clientKey', 'ORB_CLIENT_KEY');
  if ((cert === undefined) !== (key === undefined)) throw new Error('--client-cert and --client-key go together');
  if (url.protocol === 'http:' && (ca || cert)) throw new Error(`--ca and --client-cert are for https: the server URL ${url.origin} is plain http (write https://)`);
  return {
    base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    explicit: given !== undefined,
    token: authTokenOf(config),
    tls: { ca: ca ? readPem('--ca', ca) : undefined, cert: cert ? readPem('--client-cert', cert) : undefined, key: key ? readPem('--client-key', key) : undefined },
  };
}

const TLS_TRUST = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

/** One line for a request that got no HTTP answer: the URL, what happened, what to try. */
export function unreachableMessage(url: string, err: Error & { code?: string }): string {
  const u = new URL(url);
  const code = err.code ?? '';
  const https = u.protocol === 'https:';
  const at = `${u.origin}`;
  const grpcPort = `orb-learn's OTLP/gRPC port (${GRPC_PORT} by default) speaks HTTP/2 only: queries, feedback and policies are on its HTTP port (4318 by default)`;
  let what: string;
  if (code === 'ECONNREFUSED') what = `nothing listens at ${at} (connection refused): is \`orb-learn serve\` running, and on this port (4318 unless it was given another --http)?`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = `the host ${u.hostname} is not known (${code})`;
  else if (code === 'ETIMEDOUT' || code === 'ECONNABORTED' || code === 'REQUEST_TIMEOUT') what = `no answer from ${at} within ${REQUEST_TIMEOUT_MS / 1000} s`;
  else if (TLS_TRUST.has(code)) what = `the certificate of ${at} is not trusted (${code}): give --ca FILE, the CA that signed it`;
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') what = `the certificate of ${at} does not name ${u.hostname}: use the host name it was issued for`;
  else if (code === 'CERT_HAS_EXPIRED') what = `the certificate of ${at} has expired`;
  else if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/i.test(code)) what = `${at} refused the TLS handshake (${code}): it requires a client certificate its CA signed: give --client-cert FILE and --client-key FILE`;
  else if (https && /WRONG_VERSION_NUMBER|EPROTO|PACKET_LENGTH_TOO_LONG/i.test(`${code} ${err.message}`)) what = `${at} does not speak TLS (${code || err.message}): try http:// instead of https://`;
  else if (!https && /^HPE_/.test(code)) what = `${at} answered, but not in HTTP/1.1 (${code}): is this the gRPC port? ${grpcPort}`;
  else if (/ECONNRESET|socket hang up|other side closed/i.test(`${code} ${err.message}`))
    what = `${at} closed the connection without an HTTP answer (${code || err.message})${https ? '' : `: if the server uses TLS (--tls-cert), write https:// (and --ca FILE unless a system root signed its certificate); if this is the gRPC port, ${grpcPort}`}`;
  else what = `no answer from ${at}: ${code ? `${code} ` : ''}${err.message}`;
  const sentence = /[.?]$/.test(what) ? what : `${what}.`;
  return u.port === GRPC_PORT && !sentence.includes(grpcPort) ? `${sentence} Port ${GRPC_PORT}: ${grpcPort}.` : sentence;
}

function send(target: ServerTarget, method: string, path: string, body: unknown): Promise<IncomingMessage> {
  const url = new URL(`${target.base}${path}`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const options = { method, headers, timeout: REQUEST_TIMEOUT_MS, ...(url.protocol === 'https:' ? target.tls : {}) };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolve);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'REQUEST_TIMEOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

/** One request to the server; an answer of any status resolves, no answer throws ServerUnreachableError. */
export async function callServer(target: ServerTarget, method: string, path: string, body?: unknown): Promise<ServerAnswer> {
  let res: IncomingMessage;
  let text = '';
  try {
    res = await send(target, method, path, body);
    for await (const chunk of res) text += String(chunk);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new ServerUnreachableError(unreachableMessage(`${target.base}${path}`, e), e.code === 'ECONNREFUSED');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode ?? 0, json, text };
}

/** The JSON of a 2xx answer; anything else becomes one line naming the server and, for 401, the fix. */
export function okJson(target: ServerTarget, method: string, path: string, a: ServerAnswer): unknown {
  if (a.status >= 200 && a.status < 300 && a.json !== undefined) return a.json;
  const message = (a.json as { message?: unknown } | undefined)?.message;
  const what = typeof message === 'string' ? message : a.json === undefined ? `no JSON: ${a.text.slice(0, 200)}` : `HTTP ${a.status}`;
  // A refusal of the request itself (a bad parameter) is the caller's to fix: its message alone.
  if (a.status === 400 && typeof message === 'string') throw new Error(message);
  let hint = '';
  if (a.status === 401 && /certificate/i.test(what)) hint = ': give --client-cert FILE and --client-key FILE, a certificate its client CA signed';
  else if (a.status === 401) hint = target.token ? ': the server refused this token' : ': the server requires a token: give --auth-token TOKEN, --auth-token-file FILE or ORB_AUTH_TOKEN';
  else if (a.status === 404 && typeof message !== 'string') hint = ': is this an orb-learn server?';
  throw new Error(`the server at ${target.base} answered ${method} ${path} with HTTP ${a.status}: ${what}${hint}`);
}
