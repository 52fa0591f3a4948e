/**
 * Downloads a media URL for sending, defensively: http(s) only, at most
 * `maxBytes`, bounded connect and read times, and never to private, loopback
 * or link-local addresses (checked on every DNS answer and every redirect, at
 * connect time, so DNS tricks cannot slip through) unless explicitly allowed.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

export class FetchRefused extends Error {
  /** True when trying again later may succeed (timeouts, network errors, 5xx, 408, 429). */
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
// `::/96`: the IPv4-compatible form (`::127.0.0.1`) of any IPv4 address, which some stacks still route to it.
for (const [net, prefix] of [
  ['::', 96],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 4 ? blocked.check(address, 'ipv4') : family === 6 ? blocked.check(address, 'ipv6') : true;
}

/** Resolves a host name to all its addresses, like `dns.lookup(hostname, { all: true }, callback)`. */
export type Lookup = (
  hostname: string,
  options: { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface FetchOptions {
  maxBytes: number;
  allowPrivate: boolean;
  /** Idle time allowed while connecting or waiting for bytes (30 s). */
  timeoutMs?: number;
  /** Time allowed for one request from start to last byte, however steadily bytes trickle in (120 s). */
  totalTimeoutMs?: number;
  maxRedirects?: number;
  /** DNS resolution (`dns.lookup` by default; tests inject one). Its answers are checked all the same. */
  lookup?: Lookup;
  /** Time allowed to resolve the host name (5 s): a resolver that does not answer fails the fetch, to be tried again later. */
  lookupTimeoutMs?: number;
  /** Which addresses are refused (`isPrivateAddress` by default; tests narrow it to reach a local server). */
  isPrivate?: (address: string) => boolean;
}

export interface Fetched {
  bytes: Buffer;
  contentType: string | undefined;
  finalUrl: string;
}

export async function safeFetch(url: string, options: FetchOptions): Promise<Fetched> {
  let current = new URL(url);
  for (let redirects = 0; ; redirects++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new FetchRefused(`only http and https URLs can be fetched`);
    const response = await request(current, options);
    if (response.redirect) {
      if (redirects >= (options.maxRedirects ?? 5)) throw new FetchRefused('too many redirects');
      current = new URL(response.redirect, current);
      continue;
    }
    return { ...response.fetched!, finalUrl: current.toString() };
  }
}

function request(url: URL, options: FetchOptions): Promise<{ redirect?: string; fetched?: Omit<Fetched, 'finalUrl'> }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const isPrivate = options.isPrivate ?? isPrivateAddress;
  const resolve = options.lookup ?? dnsLookup;
  if (!options.allowPrivate && isIP(host) && isPrivate(host))
    return Promise.reject(new FetchRefused(`refusing to fetch from a private address (${host})`));
  const lookup = (
    hostname: string,
    opts: object,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    const lookupMs = options.lookupTimeoutMs ?? 5_000;
    let answered = false;
    const bound = setTimeout(() => {
      answered = true;
      callback(new FetchRefused(`resolving ${hostname} took longer than ${lookupMs} ms`, true), []);
    }, lookupMs);
    resolve(hostname, { ...opts, all: true }, (err, addresses) => {
      if (answered) return;
      answered = true;
      clearTimeout(bound);
      // A name that does not exist will not exist on a second try; a resolver failing for now (EAI_AGAIN) may answer later.
      if (err?.code === 'ENOTFOUND') return callback(new FetchRefused(`the host ${hostname} does not resolve (ENOTFOUND)`), []);
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => isPrivate(a.address));
      if (!options.allowPrivate && bad)
        return callback(new FetchRefused(`refusing to fetch from a private address (${hostname} is ${bad.address})`), []);
      if ((opts as { all?: boolean }).all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolvePromise, reject) => {
    const req = client.get(
      url,
      { lookup: lookup as never, timeout: timeoutMs, headers: { 'user-agent': 'wa-gateway/0.1', accept: '*/*' } },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          return resolvePromise({ redirect: res.headers.location });
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return reject(new FetchRefused(`the media URL answered HTTP ${status}`, status >= 500 || status === 408 || status === 429));
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > options.maxBytes) {
          res.destroy();
          return reject(new FetchRefused(`the media is larger than ${options.maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            res.destroy();
            reject(new FetchRefused(`the media is larger than ${options.maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => resolvePromise({ fetched: { bytes: Buffer.concat(chunks), contentType: res.headers['content-type'] } }));
        res.on('error', (err) =>
          reject(err instanceof FetchRefused ? err : new FetchRefused(`downloading the media failed: ${err.message}`, true)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new FetchRefused(`the media URL did not answer within ${timeoutMs} ms`, true)));
    const totalMs = options.totalTimeoutMs ?? 120_000;
    const deadline = setTimeout(() => req.destroy(new FetchRefused(`the media did not download within ${totalMs} ms`, true)), totalMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (err) =>
      reject(err instanceof FetchRefused ? err : new FetchRefused(`fetching the media failed: ${err.message}`, true)),
    );
  });
}
