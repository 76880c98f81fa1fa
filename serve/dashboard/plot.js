// A small SVG line plot (see the note at the top of dashboard.js for why no library).
//
// linePlot(svg, series): redraws `svg` (its viewBox gives the drawing size) with
// axes, "nice" ticks and one <path class="line NAME"> per series plus a <circle> per
// point (with a <title> tooltip). series: [{name, label, points: [[x, y], ...]}];
// points whose y is not a finite number, or is at or below `floor`, are gaps (the
// engine scores infeasible trials near -1e9). Each path carries data-points, the
// number of points drawn. Only SVG presentation attributes are set, no inline styles
// (the dashboard's Content-Security-Policy allows none).

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = {left: 58, right: 14, top: 12, bottom: 30};

function node(tag, attrs = {}, text) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

// About `count` round tick values covering [lo, hi].
function ticks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

function label(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function linePlot(svg, series, {floor = -1e8, xLabel = 'step'} = {}) {
  const box = svg.viewBox.baseVal;
  const width = box && box.width ? box.width : 960;
  const height = box && box.height ? box.height : 280;
  svg.replaceChildren();
  const keep = ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && y > floor;
  const usable = series.map((s) => ({...s, points: s.points.filter(keep)}));
  const all = usable.flatMap((s) => s.points);
  if (all.length === 0) {
    svg.append(node('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle',
                             class: 'empty'}, 'no feasible step yet'));
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad; y1 += pad;
  const px = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * (width - MARGIN.left - MARGIN.right);
  const py = (y) => height - MARGIN.bottom -
                    ((y - y0) / (y1 - y0)) * (height - MARGIN.top - MARGIN.bottom);

  const grid = node('g', {class: 'gridlines'});
  for (const t of ticks(y0, y1, 5)) {
    grid.append(node('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: py(t), y2: py(t)}));
    grid.append(node('text', {x: MARGIN.left - 6, y: py(t) + 4, 'text-anchor': 'end'}, label(t)));
  }
  const xs = ticks(x0, x1, 8).filter((t) => Number.isInteger(t) || x1 - x0 < 4);
  for (const t of xs) {
    grid.append(node('text', {x: px(t), y: height - MARGIN.bottom + 16, 'text-anchor': 'middle'},
                     label(t)));
  }
  grid.append(node('text', {x: width - MARGIN.right, y: height - 4, 'text-anchor': 'end'},
                   xLabel));
  svg.append(grid);
  svg.append(node('line', {class: 'axis', x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top,
                           y2: height - MARGIN.bottom}));
  svg.append(node('line', {class: 'axis', x1: MARGIN.left, x2: width - MARGIN.right,
                           y1: height - MARGIN.bottom, y2: height - MARGIN.bottom}));

  for (const [i, s] of usable.entries()) {
    // A dropped point (a gap) ends the sub-path: the next kept point starts a new one.
    let d = '';
    let joined = false;
    for (const p of series[i].points) {
      if (!keep(p)) { joined = false; continue; }
      d += `${joined ? 'L' : 'M'}${px(p[0]).toFixed(1)} ${py(p[1]).toFixed(1)}`;
      joined = true;
    }
    svg.append(node('path', {class: `line ${s.name}`, d, 'data-points': s.points.length}));
    const dots = node('g', {class: `dots ${s.name}`});
    const radius = s.points.length > 60 ? 1.5 : 3;
    for (const [x, y] of s.points) {
      const c = node('circle', {cx: px(x).toFixed(1), cy: py(y).toFixed(1), r: radius});
      c.append(node('title', {}, `${xLabel} ${x}: ${s.label || s.name} ${label(y)}`));
      dots.append(c);
    }
    svg.append(dots);
  }
}
