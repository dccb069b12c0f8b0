// The live activation curve: the unit's activation at every iteration, as an SVG polyline.
const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 360;
const HEIGHT = 220;
const MARGIN = { left: 52, right: 12, top: 14, bottom: 30 };

function element(name, attributes, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(value) {
  return Math.abs(value) >= 1000 || (value !== 0 && Math.abs(value) < 0.01)
    ? value.toExponential(1) : value.toFixed(Math.abs(value) < 10 ? 2 : 1);
}

// Redraws `svg` for `acts` (one per iteration so far) over an x axis of `nIters` iterations.
export function drawCurve(svg, acts, nIters) {
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.replaceChildren();
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  let low = Math.min(0, ...acts);
  let high = Math.max(1e-9, ...acts);
  if (high - low < 1e-9) high = low + 1;
  const x = (i) => MARGIN.left + (nIters > 1 ? (i / (nIters - 1)) * plotWidth : plotWidth / 2);
  const y = (v) => MARGIN.top + (1 - (v - low) / (high - low)) * plotHeight;
  svg.append(element('rect', { x: MARGIN.left, y: MARGIN.top, width: plotWidth, height: plotHeight, class: 'frame' }));
  if (low < 0) svg.append(element('line', { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(0), y2: y(0), class: 'zero' }));
  for (const value of [low, high]) {
    svg.append(element('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, label(value)));
  }
  svg.append(element('text', { x: MARGIN.left, y: HEIGHT - 8 }, '0'));
  svg.append(element('text', { x: MARGIN.left + plotWidth, y: HEIGHT - 8, 'text-anchor': 'end' }, String(nIters - 1)));
  svg.append(element('text', { x: MARGIN.left + plotWidth / 2, y: HEIGHT - 8, 'text-anchor': 'middle' }, 'iteration'));
  if (acts.length) {
    const points = acts.map((value, i) => `${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    svg.append(element('polyline', { points, class: 'curve' }));
    const last = acts.length - 1;
    svg.append(element('circle', { cx: x(last), cy: y(acts[last]), r: 3, class: 'last' }));
  }
}
