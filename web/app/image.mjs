// The array the release's image writer encodes (reproduce/outputs/images.py, to_saved_array):
// the float32 BGR crop becomes RGB, is clipped to the pixel range [-120, 120] and mapped to [0, 1]
// in float64, then stretched again to its own min and max (a range of 0 counts as 1) and rounded
// with uint8(clip(b, 0, 255) + 0.5). Same operations, same order, IEEE doubles: the same bytes.

export const PIXEL_RANGE = [-120.0, 120.0];

// `chw`: a 3×height×width float32 BGR image; returns height×width×3 RGB bytes.
export function savedArray(chw, height, width, range = PIXEL_RANGE) {
  const [low, high] = range;
  const plane = height * width;
  if (chw.length !== 3 * plane) throw new Error(`image of ${chw.length} values: expected 3×${height}×${width}`);
  const normalized = new Float64Array(3 * plane);
  let min = Infinity;
  let max = -Infinity;
  for (let pixel = 0; pixel < plane; pixel++) {
    for (let channel = 0; channel < 3; channel++) {
      const value = chw[(2 - channel) * plane + pixel]; // BGR → RGB
      const clipped = Math.min(Math.max(value, low), high);
      const scaled = (clipped - low) / (high - low);
      normalized[pixel * 3 + channel] = scaled;
      if (scaled < min) min = scaled;
      if (scaled > max) max = scaled;
    }
  }
  const span = max - min;
  const scale = 255.0 / (span !== 0 ? span : 1.0);
  const saved = new Uint8Array(3 * plane);
  for (let index = 0; index < saved.length; index++) {
    const stretched = (normalized[index] - min) * scale;
    saved[index] = Math.trunc(Math.min(Math.max(stretched, 0), 255) + 0.5);
  }
  return saved;
}

// RGBA ImageData bytes (opaque) of height×width×3 RGB bytes, for a canvas.
export function rgba(rgb) {
  const out = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let pixel = 0, source = 0; source < rgb.length; pixel += 4, source += 3) {
    out[pixel] = rgb[source];
    out[pixel + 1] = rgb[source + 1];
    out[pixel + 2] = rgb[source + 2];
    out[pixel + 3] = 255;
  }
  return out;
}
