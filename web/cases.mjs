// One conformance run of an ONNX model on a list of cases (feeds), shared by the node script
// (run_cases.mjs) and the browser page (index.html). A case directory holds cases.json:
//   {"model": "step.onnx", "cases": [{"name": "...", "feeds": {NAME: {"dtype", "shape", "file"}},
//                                     "outputs": [NAME, ...]}]}
// with each feed a raw little-endian file. The caller supplies `ort` (onnxruntime-node or
// onnxruntime-web) and `readBytes(relativePath) -> Promise<Uint8Array>`.

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  bool: Uint8Array,
};

function aligned(bytes, ArrayType) {
  // A typed array over a copy of the bytes (file buffers need not be aligned for 8-byte types).
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ArrayType(copy.buffer, 0, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
}

export function toTensor(ort, spec, bytes) {
  const ArrayType = ARRAYS[spec.dtype];
  if (!ArrayType) throw new Error(`feed dtype ${spec.dtype}: not supported`);
  return new ort.Tensor(spec.dtype, aligned(bytes, ArrayType), spec.shape);
}

export function fromTensor(tensor) {
  // {dtype, shape, bytes} of an output tensor (bool as one byte per value).
  const data = tensor.data;
  const view = data instanceof Uint8Array ? data
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { dtype: tensor.type, shape: Array.from(tensor.dims), bytes: view };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// `repeat` > 1 also times each case: the median of `repeat` runs after one warm-up run (ms).
export async function runCases(ort, readBytes, sessionOptions, repeat = 1) {
  const manifest = JSON.parse(new TextDecoder().decode(await readBytes('cases.json')));
  const model = await readBytes(manifest.model);
  const session = await ort.InferenceSession.create(model, sessionOptions);
  const results = [];
  for (const item of manifest.cases) {
    const feeds = {};
    for (const [name, spec] of Object.entries(item.feeds)) {
      feeds[name] = toTensor(ort, spec, await readBytes(spec.file));
    }
    const outputs = await session.run(feeds, item.outputs);
    const converted = {};
    for (const name of item.outputs) converted[name] = fromTensor(outputs[name]);
    const times = [];
    for (let run = 1; run < repeat + 1 && repeat > 1; run++) {
      const start = performance.now();
      await session.run(feeds, item.outputs);
      times.push(performance.now() - start);
    }
    results.push({ name: item.name, outputs: converted, ms: times.length ? median(times) : null });
  }
  if (session.release) await session.release();
  return results;
}
