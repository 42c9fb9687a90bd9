// Optional TLS (with client certificates for mTLS) and bearer-token auth for the receivers and
// the query API. Listeners bind to loopback by default; these are for when they do not.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { UnauthenticatedError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** Clients must present a certificate signed by this CA (mTLS). */
  clientCa?: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

/** A PEM file's bytes; a missing or unreadable file names what it was for. */
export function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
}

export function readTls(files: TlsFiles): TlsMaterial {
  return {
    cert: readPem('TLS certificate', files.cert),
    key: readPem('TLS key', files.key),
    ca: files.clientCa ? readPem('TLS client CA', files.clientCa) : null,
  };
}

// Under mTLS the handshake asks for a client certificate but does not refuse one that is missing:
// the HTTP listener refuses per request (see clientCertificateCheck), so that liveness probes,
// which cannot present one, still reach /healthz and /readyz.
export function httpsOptions(tls: TlsMaterial) {
  return { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}) };
}

/** Paths that answer without credentials: probes only. */
export const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** Under mTLS: the request's connection must carry a certificate the client CA verified. */
export function clientCertificateCheck(socket: unknown): void {
  const s = socket as TLSSocket;
  // A resumed TLS session reports `authorized` from the session's verify result, which OpenSSL
  // leaves OK when no certificate was ever presented: require the certificate itself as well.
  const presented = s.getPeerCertificate?.() ?? {};
  if (s.authorized && Object.keys(presented).length > 0) return;
  const why = s.authorizationError ? String(s.authorizationError) : 'none presented';
  throw new UnauthenticatedError(`client certificate required (${why})`);
}

/** Checks `Authorization: Bearer <token>` in constant time (digests of equal length). */
export class BearerAuth {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = createHash('sha256').update(token).digest();
  }

  check(header: string | string[] | undefined): void {
    const value = Array.isArray(header) ? header[0] : header;
    const m = /^Bearer\s+(.+)$/i.exec(value ?? '');
    if (!m) throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
    const given = createHash('sha256').update(m[1]!.trim()).digest();
    if (!timingSafeEqual(given, this.digest)) throw new UnauthenticatedError('invalid bearer token');
  }
}
