/**
 * A lean JSON client for load generation: node:http with keep-alive sockets,
 * one per concurrent caller. fetch() (undici) costs the benchmark process
 * several times more CPU per request, which on a small machine is taken
 * from the gateway being measured.
 */
import http from 'node:http';

export function jsonClient(baseUrl: string, token: string, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const { hostname, port } = new URL(baseUrl);
  return {
    post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
      const payload = Buffer.from(JSON.stringify(body));
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            agent,
            hostname,
            port,
            path,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': payload.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              try {
                resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
              } catch (error) {
                reject(error);
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
