// node seed_check.mjs DIR: checks web/app/seed.mjs against NumPy's draws that Python wrote to DIR
// (tests/test_web_port.py writes them and asserts on what this script writes back).
//
// DIR/seeds.json: {"seeds": [...], "sizes": [K, ...]}; for each K, DIR/numpy_K.f64: NumPy's
// RandomState(s).normal(0, 1, K) for every seed, concatenated; DIR/r2.f64 and DIR/libm_log.f64:
// the polar method's r2 values for the largest K, in draw order, and the C library's log of each.
//
// Writes DIR/answer.json: {"injected": {K: mismatches}, "argument_mismatches": n} (the port with
// the C library's log values injected: every draw must equal NumPy's, every log argument the r2
// Python drew) and, with the port's own (correctly rounded) log, DIR/port_K.f64 (the draws) and
// DIR/port_log.f64 (its log of each r2).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LegacyRandomState, log } from '../app/seed.mjs';

function readDoubles(path) {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8).slice();
}

function writeDoubles(path, values) {
  writeFileSync(path, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

const dir = process.argv[2];
const { seeds, sizes } = JSON.parse(readFileSync(join(dir, 'seeds.json'), 'utf8'));
const largest = Math.max(...sizes);
const r2 = readDoubles(join(dir, 'r2.f64'));
const libmLog = readDoubles(join(dir, 'libm_log.f64'));
const pairsPerSeed = largest / 2;
const answer = { injected: {}, argument_mismatches: 0 };

for (const size of sizes) {
  const expected = readDoubles(join(dir, `numpy_${size}.f64`));
  const port = new Float64Array(seeds.length * size);
  let mismatches = 0;
  seeds.forEach((seed, index) => {
    let call = index * pairsPerSeed;
    const injected = new LegacyRandomState(seed, {
      log: (x) => {
        if (x !== r2[call]) answer.argument_mismatches += 1;
        return libmLog[call++];
      },
    }).normal(0.0, 1.0, size);
    for (let k = 0; k < size; k++) {
      if (injected[k] !== expected[index * size + k]) mismatches += 1;
    }
    port.set(new LegacyRandomState(seed).normal(0.0, 1.0, size), index * size);
  });
  answer.injected[size] = mismatches;
  writeDoubles(join(dir, `port_${size}.f64`), port);
}
writeDoubles(join(dir, 'port_log.f64'), r2.map(log));
writeFileSync(join(dir, 'answer.json'), JSON.stringify(answer));
