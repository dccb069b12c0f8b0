// The release's start code for seed s: `np.random.seed(s); np.random.normal(0, 1, (1, K))`,
// stored into the generator's float32 input blob (reproduce/inputs/start_code.py).
//
// A port of NumPy's legacy RandomState for an integer seed:
//  * MT19937 seeded by init_genrand (NumPy's mt19937_seed: key[0] = s, key[i] =
//    1812433253 * (key[i-1] ^ (key[i-1] >>> 30)) + i), its twist and tempering;
//  * 53-bit doubles: (a * 2^26 + b) / 2^53 with a = word >>> 5, b = next word >>> 6;
//  * the polar Gaussian (legacy_gauss): draw x1, x2 = 2u - 1 until 0 < r2 = x1² + x2² < 1,
//    f = sqrt(-2 log(r2) / r2), return f * x2 and keep f * x1 for the next call;
//  * normal(loc, scale) = loc + scale * gauss.
//
// Everything is exact IEEE arithmetic except log, which NumPy takes from the C library. JavaScript's
// Math.log is not correctly rounded (it differs from glibc's in ~3% of these calls), so `log` below
// is a correctly rounded logarithm (double-double evaluation, rounded once). glibc >= 2.28's log is
// itself not correctly rounded for ~0.1% of the arguments the polar method draws, so the float64
// values can differ from NumPy's in the last bit there; the float32 start code (what the nets use)
// is bit-identical (web/tests/seed_check.mjs, tests/test_web_port.py: 1,000 seeds).

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
export const MAX_SEED = 4294967295; // NumPy's legacy seed range is [0, 2**32)

// ------------------------------------------------------------------ double-double arithmetic
// A value is hi + lo with |lo| <= ulp(hi) / 2; results go to (outHi, outLo).
let outHi = 0;
let outLo = 0;

function twoSum(a, b) {
  const s = a + b;
  const v = s - a;
  outHi = s;
  outLo = (a - (s - v)) + (b - v);
}

function fastTwoSum(a, b) { // |a| >= |b|
  const s = a + b;
  outHi = s;
  outLo = b - (s - a);
}

const SPLITTER = 134217729; // 2^27 + 1: Veltkamp's split into two 26-bit halves

function twoProduct(a, b) {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  outHi = p;
  outLo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

function ddMul(ah, al, bh, bl) {
  twoProduct(ah, bh);
  fastTwoSum(outHi, outLo + (ah * bl + al * bh));
}

function ddAdd(ah, al, bh, bl) {
  twoSum(ah, bh);
  const s = outHi;
  const e = outLo;
  twoSum(al, bl);
  const t = outHi;
  const f = outLo;
  fastTwoSum(s, e + t);
  fastTwoSum(outHi, outLo + f);
}

function ddDiv(ah, al, bh, bl) {
  const q1 = ah / bh;
  ddMul(q1, 0, bh, bl);
  ddAdd(ah, al, -outHi, -outLo);
  const rh = outHi;
  const rl = outLo;
  const q2 = rh / bh;
  ddMul(q2, 0, bh, bl);
  ddAdd(rh, rl, -outHi, -outLo);
  const q3 = outHi / bh;
  fastTwoSum(q1, q2);
  ddAdd(outHi, outLo, q3, 0);
}

// ln 2 = LN2_HI + LN2_LO (0x1.62e42fefa39efp-1 + 0x1.abc9e3b39803fp-56)
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
// log(m) = 2 atanh(s) = 2 s (1 + s²/3 + s⁴/5 + …), s = (m − 1)/(m + 1), |s| <= 0.1716 for m in
// (√½, √2]: 21 terms leave a truncation error below 2^-112 relative, under the double-double
// arithmetic's own ~2^-104, far below the half-ulp (2^-53) a rounding decision needs.
const TERMS = 21;
const COEF_HI = new Float64Array(TERMS);
const COEF_LO = new Float64Array(TERMS);
for (let n = 0; n < TERMS; n++) {
  ddDiv(1, 0, 2 * n + 1, 0);
  COEF_HI[n] = outHi;
  COEF_LO[n] = outLo;
}
const bits = new DataView(new ArrayBuffer(8));

// The natural logarithm, correctly rounded (round to nearest) for every positive finite x, unless
// the exact value lies within ~2^-100 (relative) of a rounding boundary; NaN, 0, negatives and
// Infinity as Math.log.
export function log(x) {
  if (!(x > 0) || x === Infinity) return Math.log(x);
  let k = 0;
  if (x < 2.2250738585072014e-308) { // subnormal: scale into the normal range (exact)
    x *= 18014398509481984; // 2^54
    k = -54;
  }
  bits.setFloat64(0, x);
  const high = bits.getUint32(0);
  k += ((high >>> 20) & 0x7ff) - 1023;
  bits.setUint32(0, (high & 0x000fffff) | 0x3ff00000); // the mantissa as m in [1, 2)
  let m = bits.getFloat64(0);
  if (m > Math.SQRT2) {
    m /= 2; // exact
    k += 1;
  }
  twoSum(m, 1);
  ddDiv(m - 1, 0, outHi, outLo); // m − 1 is exact (Sterbenz)
  const sh = outHi;
  const sl = outLo;
  ddMul(sh, sl, sh, sl);
  const zh = outHi;
  const zl = outLo;
  let ph = COEF_HI[TERMS - 1];
  let pl = COEF_LO[TERMS - 1];
  for (let n = TERMS - 2; n >= 0; n--) {
    ddMul(ph, pl, zh, zl);
    ddAdd(COEF_HI[n], COEF_LO[n], outHi, outLo);
    ph = outHi;
    pl = outLo;
  }
  ddMul(sh, sl, ph, pl);
  const th = 2 * outHi;
  const tl = 2 * outLo;
  ddMul(LN2_HI, LN2_LO, k, 0);
  ddAdd(outHi, outLo, th, tl);
  return outHi; // the high part of a normalised double-double: its value rounded to nearest
}

// ------------------------------------------------------------------ NumPy's legacy RandomState
export class LegacyRandomState {
  // `seed`: a whole number in [0, 2**32). `options.log` replaces the logarithm (tests inject the
  // C library's values to check everything else bit for bit).
  constructor(seed, options = {}) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`seed ${seed}: must be a whole number in [0, ${MAX_SEED}]`);
    }
    this.key = new Uint32Array(N);
    let s = seed >>> 0;
    for (let pos = 0; pos < N; pos++) {
      this.key[pos] = s;
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + pos + 1) >>> 0;
    }
    this.pos = N;
    this.hasGauss = false;
    this.gauss = 0.0;
    this.log = options.log || log;
  }

  twist() {
    const key = this.key;
    let y;
    let i = 0;
    for (; i < N - M; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; i < N - 1; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + (M - N)] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    y = (key[N - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
    key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.pos = 0;
  }

  nextUint32() {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  nextDouble() {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  nextGauss() {
    if (this.hasGauss) {
      const cached = this.gauss;
      this.hasGauss = false;
      this.gauss = 0.0;
      return cached;
    }
    let x1;
    let x2;
    let r2;
    do {
      x1 = 2.0 * this.nextDouble() - 1.0;
      x2 = 2.0 * this.nextDouble() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt(-2.0 * this.log(r2) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  // `count` draws of normal(loc, scale), float64.
  normal(loc, scale, count) {
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = loc + scale * this.nextGauss();
    return values;
  }
}

// RandomState(seed).normal(0, 1, (1, size)), float64.
export function randomNormals(seed, size) {
  return new LegacyRandomState(seed).normal(0.0, 1.0, size);
}

// The start code as the nets get it: the float64 draws stored as float32 (as_stored_code).
export function startCode(seed, size) {
  return Float32Array.from(randomNormals(seed, size));
}
