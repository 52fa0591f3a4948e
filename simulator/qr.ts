import * as jsqrModule from 'jsqr';

type Decode = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
// A CommonJS module: under Node's ESM loader its function sits on `.default`.
const jsQR = (jsqrModule as unknown as { default: Decode }).default;
import { PNG } from 'pngjs';

/** Reads the text of a QR code from a PNG data URI, as a phone's camera would. */
export async function decodeQr(dataUri: string): Promise<string> {
  const base64 = dataUri.replace(/^data:image\/png;base64,/, '');
  const png = PNG.sync.read(Buffer.from(base64, 'base64'));
  const result = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  if (!result) throw new Error('no QR code found in the image');
  return result.data;
}
