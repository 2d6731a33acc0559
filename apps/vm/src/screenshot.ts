import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { VmConfigError } from './config-error.ts';

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

/**
 * Refuse a PNG path that cannot be written, before the guest runs: its
 * directory missing, not a directory or not writable, or the file itself a
 * directory or read-only. One-line VmConfigError naming `flag`.
 */
export function checkPngTarget(flag: string, path: string): void {
  const dir = dirname(resolve(path));
  const refuse = (why: string): never => {
    throw new VmConfigError(`${flag} ${path}: ${why}`);
  };
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(dir);
  } catch {
    refuse(`directory ${dir} does not exist`);
  }
  if (!st?.isDirectory()) refuse(`${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    refuse(`directory ${dir} is not writable`);
  }
  let file: ReturnType<typeof statSync> | undefined;
  try {
    file = statSync(path);
  } catch {
    return; // not there yet: the directory's write permission is what counts
  }
  if (file.isDirectory()) refuse('is a directory');
  try {
    accessSync(path, constants.W_OK);
  } catch {
    refuse('not writable');
  }
}
