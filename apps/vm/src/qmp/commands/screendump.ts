import { writeFileSync } from 'node:fs';
import { encodePng, type RgbaImage } from '../../screenshot.ts';
import type { QmpCommand } from '../command-table.ts';
import { genericError, QmpError } from '../errors.ts';
import { strerror } from '../strerror.ts';

/** Binary PPM (P6), QEMU's default screendump format: a text header, then RGB bytes row by row. */
export function encodePpm(img: RgbaImage): Uint8Array {
  const header = new TextEncoder().encode(`P6\n${img.width} ${img.height}\n255\n`);
  const out = new Uint8Array(header.length + img.width * img.height * 3);
  out.set(header);
  for (let i = 0, o = header.length; i < img.rgba.length; i += 4, o += 3) {
    out[o] = img.rgba[i]!;
    out[o + 1] = img.rgba[i + 1]!;
    out[o + 2] = img.rgba[i + 2]!;
  }
  return out;
}

/**
 * screendump: write the display to `filename` as PPM (the default) or PNG
 * (`format`). This VMM gives its devices no ids, so a `device` names none
 * (DeviceNotFound, as QEMU for an unknown id), and `head` needs `device`.
 */
export const screendump: QmpCommand = {
  name: 'screendump',
  args: {
    filename: { type: 'str' },
    device: { type: 'str', optional: true },
    head: { type: 'int', optional: true },
    format: { type: { enum: ['ppm', 'png'] }, optional: true },
  },
  handler(args, { vm }) {
    const filename = args.filename as string;
    if (args.head !== undefined && args.device === undefined)
      throw genericError("'head' must be specified together with 'device'");
    if (args.device !== undefined) throw new QmpError('DeviceNotFound', `Device '${args.device}' not found`);
    const img = vm.display();
    if (!img) throw genericError('There is no console to take a screendump from');
    const bytes = args.format === 'png' ? encodePng(img) : encodePpm(img);
    try {
      writeFileSync(filename, bytes);
    } catch (e) {
      throw genericError(`failed to open file '${filename}': ${strerror(e)}`);
    }
    return {};
  },
};
