import net from 'node:net';

/**
 * A loopback port free right now: listened on (port 0) and closed, for a server
 * that must be told its port, or keep it across restarts. (The e2e tests' helpers use it too.)
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
