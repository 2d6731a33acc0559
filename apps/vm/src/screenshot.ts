import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, R G B A per pixel, rows top to bottom. */
  rgba: Uint8Array;
}

/** Encode an RGBA image as PNG (pngjs). */
export function encodePng(img: RgbaImage): Buffer {
  if (img.rgba.length !== img.width * img.height * 4)
    throw new RangeError('rgba size does not match width x height');
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.rgba.buffer, img.rgba.byteOffset, img.rgba.byteLength);
  return PNG.sync.write(png);
}

export function writePng(path: string, img: RgbaImage): void {
  writeFileSync(path, encodePng(img));
}
