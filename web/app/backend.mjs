// Which onnxruntime-web backend runs the step graph: WebGPU where the browser has an adapter, the
// step graph runs on it, and one step agrees with the wasm backend within the conformance
// tolerance (settings.rtol, reproduce.conformance.compare: max |x − x_wasm| / max |x_wasm| over the
// new code, the activation and the image), else wasm (the backend the conformance checks proved:
// within 7.5e-7 of ONNX Runtime in Python). With onnxruntime-web 1.30.0 the step graph of a net
// with LRN does not run on WebGPU: the Conv of LRN's gradient (converters/vjp/rules/lrn.py, a
// window sum over channels) fails in its WebGPU kernel ("dilations should be 2D"), so the page
// says so and uses wasm (checked with Chromium's software adapter, tests/test_web_page.py).
import { OUTPUTS } from './loop.mjs';

// WebGPU: the JSEP build (reproduce/web/runtime_files.py says why not ort.webgpu.min.mjs).
const BUILDS = { wasm: './ort/ort.wasm.min.mjs', webgpu: './ort/ort.min.mjs' };

export async function loadRuntime(kind, threads) {
  const ort = await import(BUILDS[kind]);
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  return ort;
}

// WebGPU sessions fall back to the CPU (wasm) kernels for what the WebGPU backend lacks (the
// step graph's float64 tail: the step factor, the bound, L2).
export async function createSession(ort, kind, model) {
  return ort.InferenceSession.create(model, {
    executionProviders: kind === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'], graphOptimizationLevel: 'all',
  });
}

export async function webgpuAdapter() {
  if (!navigator.gpu) return null;
  try {
    return await navigator.gpu.requestAdapter();
  } catch (error) {
    return null;
  }
}

export function relativeError(reference, value) {
  let scale = 1e-30;
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i]));
    worst = Math.max(worst, Math.abs(value[i] - reference[i]));
  }
  return reference.length === value.length ? worst / scale : Infinity;
}

// The largest relative error of one step on `candidate` against `reference` from `feeds`.
export async function stepDeviation(reference, candidate, feeds) {
  const expected = await reference.run(feeds, OUTPUTS);
  const got = await candidate.run(feeds, OUTPUTS);
  return Math.max(...['new_code', 'act', 'image'].map((name) => relativeError(expected[name].data, got[name].data)));
}

// {kind, ort, session, threads, note}: `requested` is auto, wasm or webgpu; `probeFeeds(ort)`
// gives the feeds of the step compared (the run's first).
export async function chooseBackend(requested, threads, model, rtol, probeFeeds) {
  const wasmOrt = await loadRuntime('wasm', threads);
  const wasm = await createSession(wasmOrt, 'wasm', model);
  const chosen = { kind: 'wasm', ort: wasmOrt, session: wasm, threads: wasmOrt.env.wasm.numThreads };
  if (requested === 'wasm') return { ...chosen, note: 'wasm (as requested)' };
  const adapter = await webgpuAdapter();
  if (!adapter) {
    if (requested === 'webgpu') throw new Error('backend webgpu: this browser has no WebGPU adapter');
    return { ...chosen, note: 'wasm (this browser offers no WebGPU adapter)' };
  }
  let deviation;
  let gpu;
  try {
    const gpuOrt = await loadRuntime('webgpu', threads);
    gpu = { kind: 'webgpu', ort: gpuOrt, session: await createSession(gpuOrt, 'webgpu', model), threads };
    deviation = await stepDeviation(wasm, gpu.session, probeFeeds(wasmOrt));
  } catch (error) {
    if (gpu) await gpu.session.release();
    if (requested === 'webgpu') throw new Error(`backend webgpu: ${error.message || error}`);
    return { ...chosen, note: `wasm (WebGPU failed: ${error.message || error})` };
  }
  const exact = deviation <= rtol;
  if (exact || requested === 'webgpu') {
    await wasm.release();
    return { ...gpu, deviation, note: `webgpu (one step within ${deviation.toExponential(1)} of wasm${exact ? '' : `, above ${rtol}: forced`})` };
  }
  await gpu.session.release();
  return { ...chosen, deviation, note: `wasm (WebGPU's step is ${deviation.toExponential(1)} from wasm's, above ${rtol})` };
}
