// HOST:PORT strings, shared by the config, the server and self-telemetry (a module of its own,
// so telemetry need not import the config).

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** 'HOST:PORT' or '[v6]:PORT' → its parts (brackets dropped). */
export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
