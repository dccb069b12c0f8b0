// The loop's three rules (reproduce/step/rules.py: the step-size schedule, when L2 applies, the
// early stop), evaluated from the expression trees the site builder writes into settings.json
// (reproduce.step.rules.to_json), so the page computes exactly what the Python loop and the ONNX
// Loop export compute: the same operations in the same order on IEEE doubles (JavaScript numbers
// are float64; a float32 constant is rounded with Math.fround, as NumPy's float32 scalar).

const OPERATORS = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Greater: (a, b) => a > b,
  Less: (a, b) => a < b,
  Equal: (a, b) => a === b,
  And: (a, b) => Boolean(a && b),
  Or: (a, b) => Boolean(a || b),
  Not: (a) => !a,
  Where: (condition, a, b) => (condition ? a : b),
};

export function evaluateRule(rule, values) {
  if ('var' in rule) {
    if (!(rule.var in values)) throw new Error(`rule variable ${rule.var}: no value given`);
    return values[rule.var];
  }
  if ('const' in rule) return rule.dtype === 'float32' ? Math.fround(rule.const) : rule.const;
  const operator = OPERATORS[rule.op];
  if (!operator) throw new Error(`rule operator ${rule.op}: not known to the page`);
  return operator(...rule.args.map((argument) => evaluateRule(argument, values)));
}

// The schedule of a run: `end_lr` < 0 means the start rate (Schedule.from_flags), the L2 factor
// by the L2_FACTOR rule, iteration i's step size by STEP_SIZE, the stop by STOPPED.
export class Schedule {
  constructor(rules, nIters, startLr, endLr, l2) {
    this.rules = rules;
    this.nIters = nIters;
    this.lrStart = startLr;
    this.lrEnd = endLr < 0 ? startLr : endLr;
    this.l2Factor = evaluateRule(rules.l2_factor, { L2: l2 });
  }

  stepSize(iteration) {
    return evaluateRule(this.rules.step_size, {
      lr_start: this.lrStart, lr_end: this.lrEnd, iteration, n_iters: this.nIters,
    });
  }

  stopped(genGradNorm, netGradNorm) {
    return evaluateRule(this.rules.stopped, { gen_grad_norm: genGradNorm, net_grad_norm: netGradNorm });
  }
}
