// The listeners' TLS material, re-read when its files change (certificates rotate, e.g. under
// cert-manager): one source feeds both the gRPC server (as a grpc-js certificate provider) and
// the HTTPS server (setSecureContext). A half-written rotation (a key that does not match its
// certificate, a missing file) is logged and skipped; the old material stays in use until the
// files agree again.
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { experimental, ServerCredentials } from '@grpc/grpc-js';
import { readTls, type TlsFiles, type TlsMaterial } from './security.js';

type Listener<T> = (update: T | null) => void;
type Identity = { certificate: Buffer; privateKey: Buffer };
type Ca = { caCertificate: Buffer };

function stamp(files: TlsFiles): string {
  return [files.cert, files.key, files.clientCa]
    .filter((f): f is string => Boolean(f))
    .map((f) => {
      const s = statSync(f);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    })
    .join('|');
}

/** Reads and checks the files as a whole; throws with the reason when they do not make a context. */
function load(files: TlsFiles): TlsMaterial {
  const m = readTls(files);
  try {
    createSecureContext({ cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}) });
    // createSecureContext takes a truncated CA without a word; every block must parse.
    if (m.ca) {
      const blocks = m.ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) throw new Error(`client CA ${files.clientCa}: no PEM certificate`);
      for (const b of blocks) new X509Certificate(b);
      if (m.ca.toString('utf8').split('-----BEGIN').length - 1 !== blocks.length) throw new Error(`client CA ${files.clientCa}: an incomplete PEM block`);
    }
  } catch (err) {
    throw new Error(`TLS ${files.cert} / ${files.key}: ${(err as Error).message}`);
  }
  return m;
}

export class TlsSource {
  private material: TlsMaterial;
  private seen: string;
  private timer: NodeJS.Timeout | null = null;
  private readonly identity = new Set<Listener<Identity>>();
  private readonly ca = new Set<Listener<Ca>>();
  private readonly changed = new Set<(m: TlsMaterial) => void>();

  constructor(
    readonly files: TlsFiles,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.seen = stamp(files);
    this.material = load(files);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  get mutual(): boolean {
    return Boolean(this.files.clientCa);
  }

  /** Polls the files every intervalMs (0: never). */
  watch(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.reload(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-reads the files if they changed; true when new material is in use. */
  reload(): boolean {
    try {
      const now = stamp(this.files);
      if (now === this.seen) return false;
      this.material = load(this.files);
      this.seen = now;
    } catch (err) {
      this.onError(err);
      return false;
    }
    for (const l of this.identity) l({ certificate: this.material.cert, privateKey: this.material.key });
    for (const l of this.ca) l(this.material.ca ? { caCertificate: this.material.ca } : null);
    for (const fn of this.changed) fn(this.material);
    return true;
  }

  onChange(fn: (m: TlsMaterial) => void): void {
    this.changed.add(fn);
  }

  /** gRPC server credentials that follow the files. */
  grpcCredentials(): ServerCredentials {
    // grpc-js registers its server as a watcher only after adding these listeners, so the first
    // update is delivered a microtask later, when someone listens for it.
    const provider: experimental.CertificateProvider = {
      addIdentityCertificateListener: (l) => {
        this.identity.add(l);
        queueMicrotask(() => l({ certificate: this.material.cert, privateKey: this.material.key }));
      },
      removeIdentityCertificateListener: (l) => void this.identity.delete(l),
      addCaCertificateListener: (l) => {
        this.ca.add(l);
        queueMicrotask(() => l(this.material.ca ? { caCertificate: this.material.ca } : null));
      },
      removeCaCertificateListener: (l) => void this.ca.delete(l),
    };
    // grpc-js names these parameters the other way round: the first is the identity, the second the CA.
    return experimental.createCertificateProviderServerCredentials(provider, this.mutual ? provider : null, this.mutual);
  }
}
