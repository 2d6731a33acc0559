import { isKernelError } from '@tsvirt/core-bus';
import {
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_GFX_PLANE_INFO_SIZE,
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_GFX_PLANE_TYPE_PROBE,
  VFIO_GFX_PLANE_TYPE_REGION,
  VFIO_REGION_INFO_SIZE,
  type VfioDeviceFile,
  type VfioDeviceGfxPlaneInfo,
  type VfioRegionInfo,
} from '@tsvirt/vfio-core';
import type { Frame } from './protocol.ts';

/** DRM fourcc 'XR24': 32-bit x:R:G:B little-endian, the one format the page draws. */
const DRM_FORMAT_XRGB8888 = 0x34325258;

function planeInfo(flags: number): VfioDeviceGfxPlaneInfo {
  return {
    argsz: VFIO_DEVICE_GFX_PLANE_INFO_SIZE,
    flags,
    drm_plane_type: 0,
    drm_format: 0,
    drm_format_mod: 0n,
    width: 0,
    height: 0,
    stride: 0,
    size: 0,
    x_pos: 0,
    y_pos: 0,
    x_hot: 0,
    y_hot: 0,
    region_index: 0,
    reserved: 0,
  };
}

/**
 * A display client of a mediated GPU, as QEMU's vfio display
 * (hw/vfio/display.c) drives a region plane: probe that the device exports
 * REGION planes, then per update QUERY_GFX_PLANE for the primary plane's
 * format, size and stride and read the plane from the start of the region
 * it names (the UAPI has no offset: mdpy/mbochs scan out from offset 0).
 */
export class DisplayClient {
  private region: { index: number; offset: bigint; size: bigint } | undefined;
  private buf = new Uint8Array(0);

  private constructor(private readonly device: VfioDeviceFile) {}

  /** A client for `device` if it has a display (the probe succeeds), else undefined. */
  static probe(device: VfioDeviceFile): DisplayClient | undefined {
    try {
      device.ioctl(
        VFIO_DEVICE_QUERY_GFX_PLANE,
        planeInfo(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION),
      );
      return new DisplayClient(device);
    } catch (e) {
      if (isKernelError(e)) return undefined; // no display (ENOTTY) or no region planes (EINVAL)
      throw e;
    }
  }

  /** The current primary plane as RGBA, or undefined while the guest has no mode set. */
  frame(): Frame | undefined {
    const plane = planeInfo(VFIO_GFX_PLANE_TYPE_REGION);
    this.device.ioctl(VFIO_DEVICE_QUERY_GFX_PLANE, plane);
    const { width, height, stride } = plane;
    if (plane.drm_format !== DRM_FORMAT_XRGB8888 || width === 0 || height === 0) return undefined;
    const region = this.regionOf(plane.region_index);
    if (BigInt(stride * height) > region.size) return undefined;
    if (this.buf.length !== stride * height) this.buf = new Uint8Array(stride * height);
    this.device.read(this.buf, region.offset);
    const rgba = new Uint8Array(width * height * 4);
    const src = this.buf;
    for (let y = 0; y < height; y++) {
      let s = y * stride;
      let d = y * width * 4;
      for (let x = 0; x < width; x++, s += 4, d += 4) {
        rgba[d] = src[s + 2]!;
        rgba[d + 1] = src[s + 1]!;
        rgba[d + 2] = src[s]!;
        rgba[d + 3] = 255;
      }
    }
    return { width, height, rgba };
  }

  /** VFIO_DEVICE_GET_REGION_INFO for the plane's region, once per index. */
  private regionOf(index: number): { index: number; offset: bigint; size: bigint } {
    if (this.region?.index === index) return this.region;
    const info: VfioRegionInfo = {
      argsz: VFIO_REGION_INFO_SIZE,
      flags: 0,
      index,
      cap_offset: 0,
      size: 0n,
      offset: 0n,
    };
    this.device.ioctl(VFIO_DEVICE_GET_REGION_INFO, info);
    this.region = { index, offset: info.offset, size: info.size };
    return this.region;
  }
}
