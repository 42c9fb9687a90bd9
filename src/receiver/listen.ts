// Binding a listener: resolves with the port bound (the one asked, or the one chosen for port 0),
// rejects with the bind error (EADDRINUSE, EACCES) instead of leaving it to an 'error' event.
import type { AddressInfo, Server } from 'node:net';

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
