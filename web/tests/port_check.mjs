// node port_check.mjs DIR: runs the page's ports of the Python driver's arithmetic on what
// tests/test_web_port.py wrote to DIR/request.json, and writes DIR/answer.json (plus
// DIR/saved_I.u8 and DIR/saved_I.png per image) for the test to compare with Python:
//   rules.mjs   step sizes, L2 factors and stops (Schedule) for the given schedules and norms
//   image.mjs   the release's saved array of each DIR/image_I.f32 (3×H×W float32 BGR)
//   png.mjs     that array as a PNG
//   params.mjs  Python's str() of floats (the release's file names); URL parameter checks
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { savedArray } from '../app/image.mjs';
import { ParameterError, pythonFloat, readParameters } from '../app/params.mjs';
import { encodePng } from '../app/png.mjs';
import { Schedule } from '../app/rules.mjs';

const dir = process.argv[2];
const request = JSON.parse(readFileSync(join(dir, 'request.json'), 'utf8'));
const answer = {
  step_sizes: [], l2_factors: [], stopped: [], python_floats: request.floats.map(pythonFloat), parameters: [],
};
for (const [nIters, startLr, endLr, l2] of request.schedules) {
  const schedule = new Schedule(request.rules, nIters, startLr, endLr, l2);
  answer.step_sizes.push(Array.from({ length: nIters }, (_, i) => schedule.stepSize(i)));
  answer.l2_factors.push(schedule.l2Factor);
}
const schedule = new Schedule(request.rules, 1, 1, 1, 1);
answer.stopped = request.norms.map(([gen, net]) => schedule.stopped(Math.fround(gen), Math.fround(net)));
for (const search of request.searches) {
  try {
    answer.parameters.push({ values: readParameters(search, request.settings) });
  } catch (error) {
    if (!(error instanceof ParameterError)) throw error;
    answer.parameters.push({ error: error.message });
  }
}
for (const [index, image] of request.images.entries()) {
  const bytes = readFileSync(join(dir, image.file));
  const chw = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const saved = savedArray(chw, image.height, image.width);
  writeFileSync(join(dir, `saved_${index}.u8`), saved);
  writeFileSync(join(dir, `saved_${index}.png`), await encodePng(saved, image.width, image.height));
}
writeFileSync(join(dir, 'answer.json'), JSON.stringify(answer));
