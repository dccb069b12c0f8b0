// The page's URL parameters (the automation contract: unit, seed, n_iters, start_lr, end_lr,
// autorun; plus threads and backend), checked as the Python driver checks the same flags
// (reproduce.run.job: unit_index, check_schedule; reproduce.inputs.start_code: the seed range).
// A bad value is a ParameterError whose message names the parameter and what is wrong.
import { MAX_SEED } from './seed.mjs';

export const RUN_PARAMETERS = ['unit', 'seed', 'n_iters', 'start_lr', 'end_lr'];
export const URL_PARAMETERS = [...RUN_PARAMETERS, 'autorun', 'threads', 'backend'];
export const BACKENDS = ['auto', 'wasm', 'webgpu'];

export class ParameterError extends Error {}

const WHOLE = /^[0-9]+$/;
const NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function whole(name, text, why) {
  if (!WHOLE.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ParameterError(`${name} ${JSON.stringify(text)}: ${why}`);
  }
  return Number(text);
}

function finite(name, text) {
  const value = NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) {
    throw new ParameterError(`${name} ${JSON.stringify(text)}: must be a finite number`);
  }
  return value;
}

// reproduce.step.act_layer.ActLayer.flat_index: channel `unit` at row and column xy of a C×H×W
// blob; channel `unit` at token `settings.token` of a T×C token layout (without a token: the
// channel's mean over the tokens, index `unit`); else the flat index `unit`.
export function unitIndex(settings, unit) {
  const shape = settings.activation_shape;
  if (shape.length === 3) return (unit * shape[1] + settings.xy) * shape[2] + settings.xy;
  if (shape.length === 2 && settings.token != null) return settings.token * shape[1] + unit;
  return unit;
}

function checkUnit(settings, text) {
  const units = settings.units;
  const noun = [2, 3].includes(settings.activation_shape.length) ? 'channels' : 'units';
  const unit = whole('unit', text, `must be a unit number (0-${units - 1} for layer ${settings.act_layer})`);
  if (unit >= units) {
    throw new ParameterError(`unit ${unit}: out of range for layer ${settings.act_layer} (${units} ${noun})`);
  }
  return unit;
}

const CHECKS = {
  unit: (text, settings) => checkUnit(settings, text),
  seed: (text) => {
    const seed = WHOLE.test(text) ? Number(text) : NaN;
    if (!(seed <= MAX_SEED)) {
      throw new ParameterError(`seed ${JSON.stringify(text)}: must be a whole number in [0, ${MAX_SEED}] (NumPy's legacy seed range)`);
    }
    return seed;
  },
  n_iters: (text) => {
    const count = whole('n_iters', text, 'must be a whole number of iterations, at least 1');
    if (count < 1) throw new ParameterError(`n_iters ${count}: must be at least 1`);
    return count;
  },
  start_lr: (text) => finite('start_lr', text),
  end_lr: (text) => finite('end_lr', text),
  autorun: (text) => {
    if (text !== '0' && text !== '1') throw new ParameterError(`autorun ${JSON.stringify(text)}: must be 0 or 1`);
    return text === '1';
  },
  threads: (text) => {
    const threads = whole('threads', text, 'must be a whole number of threads, at least 1');
    if (threads < 1) throw new ParameterError(`threads ${threads}: must be at least 1`);
    return threads;
  },
  backend: (text) => {
    if (!BACKENDS.includes(text)) {
      throw new ParameterError(`backend ${JSON.stringify(text)}: must be ${BACKENDS.join(', ')}`);
    }
    return text;
  },
};

// The values of a query string over the settings' defaults; ParameterError for an unknown or
// repeated parameter or a bad value.
export function readParameters(search, settings) {
  const values = { ...settings.defaults, autorun: false, threads: null, backend: 'auto' };
  const seen = new Set();
  for (const [name, text] of new URLSearchParams(search)) {
    if (!(name in CHECKS)) {
      throw new ParameterError(`unknown parameter ${JSON.stringify(name)} (the page takes ${URL_PARAMETERS.join(', ')})`);
    }
    if (seen.has(name)) throw new ParameterError(`parameter ${name} given twice`);
    seen.add(name);
    values[name] = CHECKS[name](text.trim(), settings);
  }
  return values;
}

// The query string of a run's settings (what the address bar shows, to share a result).
export function runSearch(values) {
  const search = new URLSearchParams();
  for (const name of RUN_PARAMETERS) search.set(name, String(values[name]));
  if (values.threads) search.set('threads', String(values.threads));
  if (values.backend && values.backend !== 'auto') search.set('backend', values.backend);
  return `?${search}`;
}

// Python's str() of a float (repr: the shortest digits that round-trip, fixed notation for
// exponents -4 … 15 with at least one decimal, else d.ddde±XX), for the release's file names.
export function pythonFloat(x) {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exponentText] = x.toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const scaled = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${scaled}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${integer}.${digits.slice(exponent + 1) || '0'}`;
}

// reproduce.outputs.images.result_file_name with the .png suffix: the name of the lossless copy
// the release's writer puts beside each JPEG ('/' of a layer name becomes '_' in a download).
export function resultFileName(actLayer, unit, nIters, l2, startLr, seed) {
  return `${actLayer.replaceAll('/', '_')}_${String(unit).padStart(4, '0')}_` +
    `${String(nIters).padStart(2, '0')}_${pythonFloat(l2)}_${pythonFloat(startLr)}__${seed}.png`;
}
