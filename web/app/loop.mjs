// The published loop around the step graph, for one sample, as reproduce/run/loop.py runs it:
// iteration i feeds step = schedule.stepSize(i) and l2 = the L2 factor (reproduce/step/rules.py,
// through rules.mjs); the code and the held image (`best`, zeros at the start) are the previous
// iteration's outputs; the run stops after an iteration in which STOPPED holds (that iteration's
// update is kept); the returned image is the last crop. The step graph's inputs and outputs are
// documented in reproduce/step/graph.py.
import { unitIndex } from './params.mjs';

export const OUTPUTS = ['new_code', 'act', 'net_grad_norm', 'gen_grad_norm', 'image'];

// The inputs that stay fixed during a run: unit (flat index), l2, active, and the bounds.
export function fixedFeeds(ort, settings, unit, schedule) {
  const feeds = {
    unit: new ort.Tensor('int64', BigInt64Array.of(BigInt(unitIndex(settings, unit))), [1]),
    l2: new ort.Tensor('float64', Float64Array.of(schedule.l2Factor), []),
    active: new ort.Tensor('bool', Uint8Array.of(1), [1]),
  };
  if (settings.mode === 'bound') {
    const size = settings.code_size;
    feeds.lower = new ort.Tensor('float64', new Float64Array(size), [1, size]);
    feeds.upper = new ort.Tensor('float64', Float64Array.from(settings.bound.upper), [1, size]);
  }
  return feeds;
}

export function iterationFeeds(ort, settings, code, best, step) {
  return {
    code: new ort.Tensor('float32', code, [1, settings.code_size]),
    best: new ort.Tensor('float32', best, [1, ...settings.image_shape]),
    step: new ort.Tensor('float64', Float64Array.of(step), []),
  };
}

// Yields {iteration, act, netGradNorm, genGradNorm, code, image, ms} after every iteration;
// `startCode` is the float32 start code (seed.mjs: startCode).
export async function* runLoop(ort, session, settings, unit, schedule, startCode) {
  const fixed = fixedFeeds(ort, settings, unit, schedule);
  let code = startCode;
  let best = new Float32Array(settings.image_shape.reduce((a, b) => a * b, 1));
  for (let iteration = 0; iteration < schedule.nIters; iteration++) {
    const feeds = { ...fixed, ...iterationFeeds(ort, settings, code, best, schedule.stepSize(iteration)) };
    const start = performance.now();
    const out = await session.run(feeds, OUTPUTS);
    const ms = performance.now() - start;
    code = out.new_code.data;
    best = out.image.data;
    const netGradNorm = out.net_grad_norm.data[0];
    const genGradNorm = out.gen_grad_norm.data[0];
    yield { iteration, act: out.act.data[0], netGradNorm, genGradNorm, code, image: best, ms };
    if (schedule.stopped(genGradNorm, netGradNorm)) return;
  }
}
