// The page: loads settings.json, labels.json and the step graph (model/step.onnx), picks the
// backend (backend.mjs), and runs the loop (loop.mjs) from the seed's start code (seed.mjs),
// redrawing the image (the release's saved array, image.mjs) and the activation curve (plot.mjs)
// after every iteration.
//
// Automation contract (web/app/README.md): index.html?unit=U&seed=S&n_iters=N&start_lr=A&end_lr=B
// &autorun=1 runs without a click; document.body.dataset.state is "running" while it runs, then
// "done" with JSON {"unit", "seed", "acts", "code", "backend", ...} in <pre id="result">, or
// "error" with the message there. Other states: "loading", "ready", "stopped".
import { chooseBackend } from './backend.mjs';
import { rgba, savedArray } from './image.mjs';
import { runLoop, fixedFeeds, iterationFeeds } from './loop.mjs';
import { drawCurve } from './plot.mjs';
import { encodePng } from './png.mjs';
import { ParameterError, RUN_PARAMETERS, readParameters, resultFileName, runSearch } from './params.mjs';
import { Schedule } from './rules.mjs';
import { startCode } from './seed.mjs';

const SETTINGS_FORMAT = 1;
const $ = (id) => document.getElementById(id);
const page = { running: false, stopRequested: false, last: null };
window.dgnAm = page; // for scripts and tests: settings, labels, backend, the last run

function setState(state) {
  document.body.dataset.state = state;
}

function fail(error) {
  const message = error instanceof ParameterError ? error.message : `${error && error.message ? error.message : error}`;
  $('result').textContent = message;
  $('status').textContent = `error: ${message}`;
  page.running = false;
  $('stop').disabled = true;
  $('run').disabled = !page.engine;
  setState('error');
}

async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function megabytes(bytes) {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

// The model's bytes, reporting the download's progress.
async function download(path, expectedBytes) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const total = Number(response.headers.get('Content-Length')) || expectedBytes;
  const bar = $('download');
  bar.max = total;
  const bytes = new Uint8Array(total);
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes.set(value, received);
    received += value.length;
    bar.value = received;
    $('download-text').textContent = `${megabytes(received)} of ${megabytes(total)}`;
  }
  if (received !== total) throw new Error(`${path}: received ${received} of ${total} bytes`);
  return bytes;
}

function describe(settings) {
  const nets = settings.nets;
  const mode = settings.mode === 'bound' ? `code bounded by ${settings.bound.file}`
    : settings.mode === 'clip' ? 'code clipped to [-1, 1]' : 'code unbounded';
  $('about').textContent = `${nets.net} (layer ${settings.act_layer}${settings.activation_shape.length === 3 ? `, x = y = ${settings.xy}` : ''}) `
    + `visualised through the generator ${nets.generator}: ${settings.code_size}-value code, ${settings.image_shape.slice(1).join('×')} crop `
    + `at (${settings.crop.top}, ${settings.crop.left}) of its ${settings.generated_shape.slice(1).join('×')} image, L2 ${settings.L2}, ${mode}.`;
  const memory = settings.memory;
  $('memory').textContent = `this model needs up to about ${megabytes(memory.estimate_bytes)} in the tab `
    + `(model file ${megabytes(memory.model_bytes)})`;
}

function fillClassList(settings, labels) {
  const list = $('class-list');
  const options = [];
  for (let unit = 0; unit < Math.min(settings.units, 20000); unit++) {
    const option = document.createElement('option');
    option.value = String(unit);
    option.textContent = labels ? `${unit} ${labels[unit]}` : `${unit}`;
    options.push(option);
  }
  list.replaceChildren(...options);
  const filter = $('class-filter');
  filter.addEventListener('input', () => {
    const query = filter.value.trim().toLowerCase();
    for (const option of options) option.hidden = query !== '' && !option.textContent.toLowerCase().includes(query);
  });
  list.addEventListener('change', () => { $('unit').value = list.value; showUrl(); });
  $('unit').addEventListener('input', () => { list.value = $('unit').value; });
}

function fillForm(values) {
  for (const name of RUN_PARAMETERS) $(name).value = String(values[name]);
  $('class-list').value = String(values.unit);
}

// The form's values, checked like the URL's.
function formValues() {
  const search = new URLSearchParams();
  for (const name of RUN_PARAMETERS) search.set(name, $(name).value);
  const values = readParameters(search, page.settings);
  return { ...values, threads: page.params.threads, backend: page.params.backend };
}

function showUrl(values) {
  try {
    history.replaceState(null, '', runSearch(values || formValues()));
  } catch (error) {
    // an invalid form is reported when Run is pressed
  }
}

function drawImage(image) {
  const [, height, width] = page.settings.image_shape;
  const canvas = $('image');
  canvas.width = width;
  canvas.height = height;
  const saved = savedArray(image, height, width, page.settings.pixel_range);
  canvas.getContext('2d').putImageData(new ImageData(rgba(saved), width, height), 0, 0);
  return saved;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

const nextTask = () => new Promise((resolve) => { // yields to the browser (not throttled like setTimeout)
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(0);
});

async function run(values) {
  const { settings, engine } = page;
  page.running = true;
  page.stopRequested = false;
  $('run').disabled = true;
  $('stop').disabled = false;
  $('save').disabled = true;
  setState('running');
  $('result').textContent = '';
  showUrl(values);
  const schedule = new Schedule(settings.rules, values.n_iters, values.start_lr, values.end_lr, settings.L2);
  const acts = [];
  const times = [];
  let last = null;
  const started = performance.now();
  for await (const step of runLoop(engine.ort, engine.session, settings, values.unit, schedule,
    startCode(values.seed, settings.code_size))) {
    acts.push(step.act);
    times.push(step.ms);
    last = step;
    drawImage(step.image);
    drawCurve($('curve'), acts, values.n_iters);
    $('status').textContent = `iteration ${step.iteration + 1} of ${values.n_iters}: activation ${step.act.toPrecision(6)}, `
      + `${step.ms.toFixed(1)} ms per step`;
    if (page.stopRequested) break;
    await nextTask();
  }
  const wall = performance.now() - started;
  page.last = { values, acts, code: last.code, image: last.image };
  const result = {
    unit: values.unit, seed: values.seed, acts, code: Array.from(last.code), backend: engine.kind,
    act_layer: settings.act_layer, n_iters: values.n_iters, start_lr: values.start_lr,
    end_lr: values.end_lr, L2: settings.L2, iterations: acts.length, threads: engine.threads,
    ms_per_iteration: median(times), ms_per_iteration_wall: wall / acts.length,
    load_ms: page.loadMs, stopped: page.stopRequested,
  };
  $('result').textContent = JSON.stringify(result);
  page.running = false;
  $('run').disabled = false;
  $('stop').disabled = true;
  $('save').disabled = false;
  setState(page.stopRequested ? 'stopped' : 'done');
}

async function savePng() {
  const { values, image } = page.last;
  const [, height, width] = page.settings.image_shape;
  const png = await encodePng(savedArray(image, height, width, page.settings.pixel_range), width, height);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([png], { type: 'image/png' }));
  link.download = resultFileName(page.settings.act_layer, values.unit, values.n_iters, page.settings.L2,
    values.start_lr, values.seed);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function measureMemory() {
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return;
  try {
    const measured = await performance.measureUserAgentSpecificMemory();
    page.measuredMemoryBytes = measured.bytes;
    $('memory').textContent += `; measured after loading: ${megabytes(measured.bytes)}`;
  } catch (error) {
    // not offered in this context: the estimate stands
  }
}

async function main() {
  setState('loading');
  if (location.protocol === 'file:') {
    throw new Error('open the page through a server (python -m reproduce web OUT_DIR --serve): '
      + 'a page opened from file:// may not read its settings and model');
  }
  const settings = await fetchJson('settings.json');
  if (settings.format !== SETTINGS_FORMAT) throw new Error(`settings.json: format ${settings.format}, this page reads ${SETTINGS_FORMAT}`);
  const labels = await fetchJson('labels.json');
  page.settings = settings;
  page.labels = labels;
  describe(settings);
  fillClassList(settings, labels);
  page.params = readParameters(location.search, settings);
  fillForm(page.params);
  for (const name of RUN_PARAMETERS) $(name).addEventListener('change', () => showUrl());
  const started = performance.now();
  if (page.params.autorun) setState('running');
  let model = await download(settings.model.file, settings.model.bytes);
  const threads = page.params.threads || (self.crossOriginIsolated ? navigator.hardwareConcurrency || 1 : 1);
  const probe = (ort) => {
    const schedule = new Schedule(settings.rules, page.params.n_iters, page.params.start_lr, page.params.end_lr, settings.L2);
    const size = settings.image_shape.reduce((a, b) => a * b, 1);
    return { ...fixedFeeds(ort, settings, page.params.unit, schedule),
      ...iterationFeeds(ort, settings, startCode(page.params.seed, settings.code_size), new Float32Array(size), schedule.stepSize(0)) };
  };
  page.engine = await chooseBackend(page.params.backend, threads, model, settings.rtol, probe);
  model = null; // the sessions hold their own copies
  page.loadMs = performance.now() - started;
  page.backend = page.engine.kind;
  $('backend').textContent = `${page.engine.note}, ${page.engine.threads} thread${page.engine.threads === 1 ? '' : 's'}`;
  $('status').textContent = `ready (model loaded in ${(page.loadMs / 1000).toFixed(1)} s)`;
  $('run').disabled = false;
  $('run').addEventListener('click', () => {
    if (page.running) return;
    let values;
    try {
      values = formValues();
    } catch (error) {
      fail(error);
      return;
    }
    run(values).catch(fail);
  });
  $('stop').addEventListener('click', () => { page.stopRequested = true; });
  $('save').addEventListener('click', () => savePng().catch(fail));
  measureMemory();
  if (page.params.autorun) {
    await run(page.params);
  } else {
    setState('ready');
  }
}

main().catch(fail);
