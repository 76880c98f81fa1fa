// The experiments panel: the list (GET /experiments, every poll) and the selected
// experiment (GET /experiments/NAME and /top/10 while it runs, then once more after it
// ended, then never again): progress, evaluations/s, ETA, the best/mean plot, the top
// list and the overfitting report.

import {$, api, duration, el, enc, fitness, num, params, tiles} from './common.js';
import {linePlot} from './plot.js';

const TOP_N = 10;
const TOP_EVERY = 5;        // polls between two top-list reads while a search runs
const RATE_WINDOW_MS = 10000;  // evaluations/s over the polls of the last 10 s

// The selected experiment: {name, done, busy, samples: [[ms, evaluations]], topTick}.
let selected = null;
// The names of the last GET /experiments: a search just started (202) is registered a
// moment later, and is not asked for before it is listed (that would be a 404).
let listed = new Set();

const progressOf = (e) => ({
  done: e.step ?? e.generations_done ?? 0,
  total: e.steps_total ?? e.generations_total ?? 0,
});

// A new list row: name (a button), algorithm, status, progress, evaluations, best, ETA.
function newRow(name) {
  return el('tr', {dataset: {name}},
    el('td', {}, el('button', {type: 'button', class: 'link'}, name)), el('td'),
    el('td', {}, el('span', {class: 'badge'})),
    el('td', {}, el('span', {class: 'progress-cell'}, el('progress', {max: 1, value: 0}),
                    el('span'))),
    el('td', {class: 'num'}), el('td', {class: 'num'}), el('td', {class: 'num'}));
}

// Updates a row's cells in place, so that a click is never lost to a re-render.
function updateRow(row, e) {
  const cells = row.cells;
  cells[1].textContent = e.algorithm || '';
  const badge = cells[2].firstChild;
  badge.textContent = e.status;
  badge.className = `badge status-${e.status}`;
  const {done, total} = progressOf(e);
  const bar = cells[3].querySelector('progress');
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, bar.max);
  cells[3].querySelector('span > span').textContent = ` ${done}/${total || '?'}`;
  cells[4].textContent = num(e.evaluations);
  cells[5].textContent = fitness(e.best_fitness);
  cells[6].textContent = e.status === 'running' ? duration(e.eta_seconds) : '';
  row.classList.toggle('selected', selected !== null && selected.name === e.name);
}

// GET /experiments: rows keyed by name. Returns the list, newest first.
export async function pollExperiments() {
  const list = (await api('GET', '/experiments')).slice().reverse();
  const tbody = $('#experiments-table tbody');
  const rows = new Map([...tbody.rows].map((r) => [r.dataset.name, r]));
  const kept = list.map((e) => {
    const row = rows.get(e.name) || newRow(e.name);
    updateRow(row, e);
    return row;
  });
  const same = kept.length === tbody.rows.length && kept.every((r, i) => tbody.rows[i] === r);
  if (!same) tbody.replaceChildren(...kept);
  $('#experiments-empty').hidden = list.length > 0;
  listed = new Set(list.map((e) => e.name));
  return list;
}

export function initExperiments() {
  const open = (event) => {
    const row = event.target.closest('tr[data-name]');
    if (row) select(row.dataset.name);
  };
  $('#experiments-table tbody').addEventListener('click', open);
  $('#detail-close').addEventListener('click', () => {
    selected = null;
    $('#experiment-detail').hidden = true;
    for (const r of $('#experiments-table tbody').rows) r.classList.remove('selected');
  });
  $('#detail-stop').addEventListener('click', async () => {
    if (!selected) return;
    const s = selected;
    try {
      await api('POST', `/experiments/${enc(s.name)}/stop`);
      s.done = false;  // poll until the registry says interrupted
    } catch (e) {
      $('#detail-best').textContent = `stop failed: ${e.message}`;
    }
  });
}

// Shows experiment `name` and polls it from the next tick on.
export function select(name) {
  selected = {name, done: false, busy: false, samples: [], topTick: -Infinity};
  $('#experiment-detail').hidden = false;
  $('#detail-title').textContent = name;
  $('#detail-status').textContent = '…';
  $('#detail-tiles').replaceChildren();
  $('#detail-plot').replaceChildren();
  $('#top-table tbody').replaceChildren();
  $('#overfitting').replaceChildren();
  for (const r of $('#experiments-table tbody').rows) {
    r.classList.toggle('selected', r.dataset.name === name);
  }
}

// evaluations/s over the recent polls (while running) and over the whole run.
function rates(s, e) {
  let recent = null;
  if (s.samples.length >= 2) {
    const [t0, e0] = s.samples[0];
    const [t1, e1] = s.samples[s.samples.length - 1];
    if (t1 > t0) recent = ((e1 - e0) * 1000) / (t1 - t0);
  }
  let seconds = e.elapsed_seconds;
  if (!(seconds > 0) && e.started_at && e.ended_at) {
    seconds = (Date.parse(e.ended_at) - Date.parse(e.started_at)) / 1000;
  }
  const average = seconds > 0 ? e.evaluations / seconds : null;
  return {recent, average, seconds};
}

function describeConfig(c) {
  if (!c || typeof c !== 'object') return '';
  const strategy = Array.isArray(c.strategy) ? c.strategy.join(', ') : c.strategy;
  const symbols = Array.isArray(c.symbols) ? c.symbols.join(', ') : c.symbols;
  const metric = c.fitness && c.fitness.metric ? c.fitness.metric : 'sharpe';
  return `${c.search || 'ga'} search of ${strategy} on ${symbols}, fitness ${metric}` +
         (c.seed !== undefined ? `, seed ${c.seed}` : '');
}

function renderDetail(e, s) {
  const running = e.status === 'running';
  const badge = $('#detail-status');
  badge.textContent = e.status;
  badge.className = `badge status-${e.status}`;
  $('#detail-stop').hidden = !running;
  $('#detail-config').textContent = describeConfig(e.config) + (e.error ? ` — error: ${e.error}` : '');
  const {done, total} = progressOf(e);
  const bar = $('#detail-progress');
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, bar.max);
  const r = rates(s, e);
  tiles($('#detail-tiles'), [
    ['step', `${done} / ${total || '?'}`],
    ['evaluations', num(e.evaluations)],
    ['cache hits', num(e.cache_hits)],
    ['evaluations/s', num(running && r.recent !== null ? r.recent : r.average, 3),
     running ? 'over the last polls' : 'over the whole run'],
    ['ETA', running ? duration(e.eta_seconds) : '–'],
    ['elapsed', duration(r.seconds)],
    ['best fitness', fitness(e.best_fitness)],
    ['task workers', running ? num(e.task_workers) : '–'],
  ]);
  const steps = Array.isArray(e.steps) ? e.steps : [];
  linePlot($('#detail-plot'), [
    {name: 'best', label: 'best', points: steps.map((p) => [p.step, p.best ?? NaN])},
    {name: 'mean', label: 'mean', points: steps.map((p) => [p.step, p.mean ?? NaN])},
  ]);
  const best = e.best && typeof e.best === 'object' ? e.best : null;
  $('#detail-best').textContent = best && best.strategy
    ? `best so far: ${best.strategy} ${params(best.params)}` : '';
  renderOverfitting(e.overfitting, running);
}

function renderTop(rows) {
  $('#top-table tbody').replaceChildren(...rows.map((t) => el('tr', {},
    el('td', {class: 'num'}, t.rank), el('td', {}, t.strategy), el('td', {}, params(t.params)),
    el('td', {class: 'num'}, t.feasible ? num(t.fitness) : 'infeasible'),
    el('td', {class: 'num'}, num(t.fitness_mean)), el('td', {class: 'num'}, num(t.fitness_min)))));
  if (rows.length === 0) {
    $('#top-table tbody').append(el('tr', {}, el('td', {colspan: 6, class: 'note'},
      'no result in the result cache yet')));
  }
}

function renderOverfitting(o, running) {
  const box = $('#overfitting');
  if (!o) {
    box.replaceChildren(el('p', {class: 'note'}, running
      ? 'Computed when the search finishes.' : 'No report (the search did not finish).'));
    return;
  }
  if (o.skipped) {
    box.replaceChildren(el('p', {class: 'note'}, `Skipped: ${o.skipped}.`));
    return;
  }
  const pboVerdict = o.pbo >= 0.5 ? 'the selection carries nothing out of sample'
                                  : 'the in-sample winner tends to stay above the median';
  const dsrVerdict = o.deflated_sharpe >= 0.95 ? 'unlikely to be the best of noise'
                   : o.deflated_sharpe >= 0.5 ? 'not clearly better than the best of noise'
                   : 'consistent with the best of noise';
  const dl = el('dl', {class: 'tiles small'});
  tiles(dl, [
    ['PBO', num(o.pbo, 3), 'probability of backtest overfitting (CSCV)'],
    ['deflated Sharpe', num(o.deflated_sharpe, 3), 'P(best Sharpe beats the max of noise)'],
    ['best Sharpe', num(o.best_sharpe, 3), 'annualised'],
    ['expected max (noise)', num(o.expected_max_sharpe, 3), 'annualised'],
    ['sets tried', num(o.trials_tried)], ['sets scored', num(o.trials_scored)],
    ['sub-periods', num(o.blocks)], ['CSCV splits', num(o.combinations)],
  ]);
  box.replaceChildren(dl, el('p', {class: 'note'},
    `PBO ${num(o.pbo, 3)}: ${pboVerdict}. Deflated Sharpe ${num(o.deflated_sharpe, 3)}: ` +
    `${dsrVerdict}.`));
}

// Polls the selected experiment unless it has ended (then it was read a last time).
export async function pollSelected(tick) {
  const s = selected;
  if (!s || s.done || s.busy || !listed.has(s.name)) return;
  s.busy = true;
  try {
    const e = await api('GET', `/experiments/${enc(s.name)}`);
    if (selected !== s) return;
    const running = e.status === 'running';
    const now = performance.now();
    s.samples.push([now, e.evaluations || 0]);
    while (s.samples.length > 2 && now - s.samples[0][0] > RATE_WINDOW_MS) s.samples.shift();
    renderDetail(e, s);
    if (!running || tick - s.topTick >= TOP_EVERY) {
      s.topTick = tick;
      const top = await api('GET', `/experiments/${enc(s.name)}/top/${TOP_N}`);
      if (selected === s) renderTop(top);
    }
    if (!running) s.done = true;  // final state shown: no more requests for it
  } catch (err) {
    if (err.status === 404) s.done = true;  // deleted: stop asking
    throw err;
  } finally {
    s.busy = false;
  }
}

export const selectedName = () => (selected ? selected.name : null);
