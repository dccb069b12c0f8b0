// node run_cases.mjs BACKEND CASE_DIR OUT_DIR [REPEAT]
// BACKEND: "node" (onnxruntime-node, native CPU EP) or "wasm" (onnxruntime-web's WebAssembly
// backend under node). Runs every case of CASE_DIR/cases.json (see cases.mjs) with one thread
// and writes OUT_DIR/outputs.json ({"runtime", "version", "cases": [{name, outputs: {NAME:
// {dtype, shape, file}}, ms}]}) plus one raw little-endian file per output; with REPEAT > 1 each
// case is also timed (ms: the median of REPEAT runs after a warm-up run).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCases } from './cases.mjs';

async function loadRuntime(backend) {
  if (backend === 'node') {
    const ort = (await import('onnxruntime-node')).default;
    return { ort, options: { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 },
             runtime: 'onnxruntime-node', version: ort.env.versions.node };
  }
  if (backend === 'wasm') {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    return { ort, options: { executionProviders: ['wasm'] }, runtime: 'onnxruntime-web',
             version: ort.env.versions.web };
  }
  throw new Error(`backend ${backend}: expected node or wasm`);
}

async function main() {
  const [backend, caseDir, outDir, repeatText] = process.argv.slice(2);
  const repeat = Number(repeatText || 1);
  if (!backend || !caseDir || !outDir) {
    console.error('usage: node run_cases.mjs node|wasm CASE_DIR OUT_DIR');
    process.exit(2);
  }
  const { ort, options, runtime, version } = await loadRuntime(backend);
  const results = await runCases(ort, async (path) => new Uint8Array(readFileSync(join(caseDir, path))),
                                 options, repeat);
  mkdirSync(outDir, { recursive: true });
  const cases = results.map((result, index) => {
    const outputs = {};
    for (const [name, value] of Object.entries(result.outputs)) {
      const file = `${index}_${name}.bin`;
      writeFileSync(join(outDir, file), value.bytes);
      outputs[name] = { dtype: value.dtype, shape: value.shape, file };
    }
    return { name: result.name, outputs, ms: result.ms };
  });
  writeFileSync(join(outDir, 'outputs.json'), JSON.stringify({ runtime, version, cases }));
}

main().catch((error) => { console.error(`run_cases: ${error.message || error}`); process.exit(1); });
