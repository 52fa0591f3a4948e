/**
 * The simulator's media servers (WhatsApp's mmg.whatsapp.net): an HTTPS host
 * that takes Baileys' encrypted uploads and serves them back for download,
 * with a certificate authority made at start so that clients verify TLS as
 * usual once they trust `caPem`.
 */
import { createServer, type Server } from 'node:https';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import forge from 'node-forge';

export class MediaHost {
  /** The token Baileys must send as `?auth=` with uploads (from `media_conn`). */
  readonly auth = randomBytes(18).toString('base64url');
  /** Encrypted files (as uploaded, or hosted by a simulated phone) by path. */
  private readonly files = new Map<string, Buffer>();
  private server!: Server;
  /** `127.0.0.1:PORT`: what `media_conn` announces as the upload host. */
  hostname = '';
  /** `https://127.0.0.1:PORT` */
  origin = '';
  /** The source port of every TCP connection made to this host (tests tell a proxy's from a direct one). */
  readonly clientPorts: number[] = [];

  private constructor(
    /** PEM of the certificate authority that signed this host's certificate. */
    readonly caPem: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<MediaHost> {
    const tls = makeCertificates(host);
    const media = new MediaHost(tls.caPem);
    media.server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
      media.handle(req, res).catch((err) => {
        res.writeHead(500).end(String(err));
      });
    });
    media.server.on('connection', (socket) => media.clientPorts.push((socket as Socket).remotePort ?? 0));
    await new Promise<void>((resolve) => media.server.listen(0, host, resolve));
    media.hostname = `${host}:${(media.server.address() as AddressInfo).port}`;
    media.origin = `https://${media.hostname}`;
    return media;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Writes the CA certificate where a client (WA_CA_FILE, NODE_EXTRA_CA_CERTS) can read it. */
  async writeCa(path: string): Promise<string> {
    await writeFile(path, this.caPem);
    return path;
  }

  /** Stores an encrypted file; returns where the message should point to it. */
  put(bytes: Buffer): { url: string; directPath: string } {
    // Shaped like WhatsApp's own paths; the random part makes it unguessable.
    const directPath = `/v/t62.7118-24/sim/${randomBytes(16).toString('hex')}.enc`;
    this.files.set(directPath, bytes);
    return { url: `${this.origin}${directPath}?mms3=true`, directPath };
  }

  /**
   * The encrypted bytes a message's `url`/`directPath` points to, as a phone
   * would download them; undefined when the URL is not this host's or unknown.
   */
  get(ref: { url?: string | null; directPath?: string | null }): Buffer | undefined {
    if (ref.url && new URL(ref.url).host !== this.hostname) return undefined;
    const path = ref.directPath ?? (ref.url ? new URL(ref.url).pathname : undefined);
    return path ? this.files.get(new URL(path, this.origin).pathname) : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method === 'POST' && url.pathname.startsWith('/mms/')) return this.upload(req, res, url);
    if (req.method === 'GET' || req.method === 'HEAD') return this.download(req, res, url);
    res.writeHead(405).end();
  }

  /** `POST /mms/<type>/<fileEncSha256, base64url>?auth=…&token=…`, as getWAUploadToServer sends it. */
  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (url.searchParams.get('auth') !== this.auth) return json(res, 401, { error: 'bad auth' });
    const token = url.pathname.split('/').pop();
    // The token is the encrypted file's sha256: a corrupted upload is refused, as WhatsApp does.
    if (createHash('sha256').update(body).digest('base64url') !== token?.replace(/=+$/, '')) {
      return json(res, 400, { error: 'hash mismatch' });
    }
    const { url: fileUrl, directPath } = this.put(body);
    json(res, 200, { url: fileUrl, direct_path: directPath });
  }

  private download(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const file = this.files.get(url.pathname);
    if (!file) return void res.writeHead(404).end();
    // Baileys asks for byte ranges when it downloads part of a file.
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), file.length - 1) : file.length - 1;
    const part = file.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': part.length,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${file.length}` } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : part);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A fresh CA and a leaf certificate for `host` (plus 127.0.0.1 and
 * localhost), signed by it. RSA keys come from node:crypto (fast, native);
 * node-forge builds and signs the X.509 certificates in JavaScript.
 */
/** A certificate authority and a certificate it signed for `host` (also used by tests for TLS servers of their own). */
export function makeCertificates(host: string): { caPem: string; certPem: string; keyPem: string } {
  const { pki, md } = forge;
  const rsa = () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
    return { privateKey: key, publicKey: pki.setRsaPublicKey(key.n, key.e) };
  };
  const validity = (cert: forge.pki.Certificate) => {
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  };
  const serial = () => `01${randomBytes(8).toString('hex')}`; // positive, unique per start

  const caKeys = rsa();
  const ca = pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca);
  const caName = [{ name: 'commonName', value: 'WhatsApp Simulator Local CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, md.sha256.create());

  const leafKeys = rsa();
  const leaf = pki.createCertificate();
  leaf.publicKey = leafKeys.publicKey;
  leaf.serialNumber = serial();
  validity(leaf);
  leaf.setSubject([{ name: 'commonName', value: host }]);
  leaf.setIssuer(caName);
  const ips = new Set([host, '127.0.0.1'].filter((h) => /^[\d.]+$/.test(h)));
  const dns = new Set([host, 'localhost'].filter((h) => !/^[\d.]+$/.test(h)));
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
    {
      name: 'subjectAltName',
      altNames: [...[...ips].map((ip) => ({ type: 7, ip })), ...[...dns].map((value) => ({ type: 2, value }))],
    },
  ]);
  leaf.sign(caKeys.privateKey, md.sha256.create());

  return { caPem: pki.certificateToPem(ca), certPem: pki.certificateToPem(leaf), keyPem: pki.privateKeyToPem(leafKeys.privateKey) };
}
