/** Media files for tests: small, valid enough for the gateway's type detection and for phones to show. */
import { randomBytes } from 'node:crypto';
import { PNG } from 'pngjs';

/** A square PNG of one grey `shade` (0-255). */
export function solidPng(side: number, shade: number): Buffer {
  const image = new PNG({ width: side, height: side });
  image.data.fill(shade);
  return PNG.sync.write(image);
}

/** An MP4 as its bytes' signature says (an `ftyp isom` box), followed by `size` random bytes. */
export function fakeMp4(size = 512): Buffer {
  return Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), randomBytes(size)]);
}
