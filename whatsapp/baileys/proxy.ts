/**
 * A session's proxy, in the two forms Baileys needs it: an http.Agent (the
 * websocket, `agent`; the media uploads, `fetchAgent`, sent with node:https)
 * and an undici dispatcher (the media downloads, `options.dispatcher`, sent
 * with fetch). Both tunnel to the target (HTTP CONNECT or SOCKS5) and then
 * speak TLS to it end to end, trusting `ca` besides the system's.
 */
import type { Agent as HttpAgent } from 'node:http';
import { lookup } from 'node:dns/promises';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { SocksClient } from 'socks';
import { Agent as UndiciAgent, ProxyAgent, buildConnector, type Dispatcher } from 'undici';

export interface SessionProxy {
  /** For the websocket (ws:// or wss://) and node:https uploads. */
  agent: HttpAgent;
  /** For fetch (media downloads). */
  dispatcher: Dispatcher;
  close(): void;
}

export function createSessionProxy(proxyUrl: string, ca: Buffer | undefined): SessionProxy {
  const url = new URL(proxyUrl);
  const tls = ca ? { ca } : {};
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const agent = new TrustingHttpsProxyAgent(url, { ...tls, keepAlive: true });
    // undici takes the credentials from the URL (Proxy-Authorization: Basic).
    const dispatcher = new ProxyAgent({ uri: url.href, requestTls: tls, proxyTls: tls });
    return { agent, dispatcher, close: () => closeBoth(agent, dispatcher) };
  }
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    const agent = new SocksProxyAgent(url, { ...tls, keepAlive: true });
    const dispatcher = new UndiciAgent({ connect: socksConnector(url, tls) });
    return { agent, dispatcher, close: () => closeBoth(agent, dispatcher) };
  }
  throw new Error(`unsupported proxy scheme ${url.protocol}`);
}

/**
 * HttpsProxyAgent drops the agent's own TLS options (it resets `this.options`), so the CA would not reach
 * the TLS connection to the target: give it to each connection.
 */
class TrustingHttpsProxyAgent extends HttpsProxyAgent<string> {
  constructor(
    url: URL,
    private readonly tls: { ca?: Buffer; keepAlive: boolean },
  ) {
    super(url, tls);
  }

  override connect(req: Parameters<HttpsProxyAgent<string>['connect']>[0], opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    return super.connect(req, { ...opts, ...(this.tls.ca ? { ca: this.tls.ca } : {}) });
  }
}

function closeBoth(agent: HttpAgent, dispatcher: Dispatcher) {
  agent.destroy();
  dispatcher.close().catch(() => {});
}

/** An undici connector that opens each connection through a SOCKS5 proxy, then TLS (for https:) as undici would. */
function socksConnector(url: URL, tls: { ca?: Buffer }): buildConnector.connector {
  const upgrade = buildConnector({ ...tls });
  const remoteDns = url.protocol === 'socks5h:';
  const proxy = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || 1080,
    type: 5 as const,
    ...(url.username ? { userId: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
  };
  return (options, callback) => {
    const https = options.protocol === 'https:';
    const port = Number(options.port) || (https ? 443 : 80);
    const hostname = options.hostname.replace(/^\[|\]$/g, '');
    (async () => {
      const host = remoteDns ? hostname : (await lookup(hostname)).address;
      const { socket } = await SocksClient.createConnection({ proxy, command: 'connect', destination: { host, port }, timeout: 30_000 });
      return socket;
    })().then(
      (socket) => {
        if (!https) return callback(null, socket);
        upgrade({ ...options, httpSocket: socket }, callback);
      },
      (err: Error) => callback(err, null),
    );
  };
}
