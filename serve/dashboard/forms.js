// The forms: start a search (POST /search/{algorithm}) and the ensembles (GET
// /ensemble, POST /ensemble/{name}/predict, POST /ensemble/deploy-pbt-survivors). The
// catalogue (GET /algorithms, GET /symbols) is read once, when the server answers.

import {$, api, el, enc, fillRows, num, say} from './common.js';

// The route kinds of POST /search/{kind}; multi-ticker-pbt takes PBT's keys.
const SEARCH_KINDS = ['ga', 'random', 'grid', 'pbt', 'multi-ticker-pbt', 'asha', 'bayesian'];
const FALLBACK_KEYS = {
  ga: ['population_size', 'num_generations'], pbt: ['population_size', 'num_generations'],
  random: ['num_samples'], asha: ['num_samples'], bayesian: ['num_samples'], grid: ['grid'],
};

let catalog = null;  // {algorithms: {name: {description, keys: Set}}, symbols: [name]}

function keysOf(kind) {
  const name = kind === 'multi-ticker-pbt' ? 'pbt' : kind;
  const a = catalog && catalog.algorithms[name];
  return a ? a.keys : new Set(FALLBACK_KEYS[name] || []);
}

function showAlgorithmFields() {
  const kind = $('#search-algorithm').value;
  const keys = keysOf(kind);
  for (const label of document.querySelectorAll('#search-form [data-key]')) {
    label.hidden = !keys.has(label.dataset.key);
  }
  const a = catalog && catalog.algorithms[kind === 'multi-ticker-pbt' ? 'pbt' : kind];
  $('#search-algorithm-help').textContent = a ? a.description : '';
}

function fillSelect(select, values, keep = true) {
  const current = select.value;
  const names = values.map((v) => (typeof v === 'string' ? v : v.value));
  const same = names.length === select.options.length &&
               names.every((n, i) => select.options[i].value === n);
  if (same) return;
  select.replaceChildren(...values.map((v) => (typeof v === 'string'
    ? el('option', {value: v}, v) : el('option', {value: v.value}, v.label))));
  if (keep && names.includes(current)) select.value = current;
}

// Reads the catalogue; true once it is loaded (until then dashboard.js calls it again).
export async function loadCatalog() {
  if (catalog) return true;
  const [algorithms, symbols] = await Promise.all([api('GET', '/algorithms'),
                                                   api('GET', '/symbols')]);
  const byName = {};
  for (const a of algorithms.search_algorithms || []) {
    byName[a.name] = {description: a.description, keys: new Set(a.keys.map((k) => k.name))};
  }
  const names = [...new Set((symbols.symbols || []).map((s) => s.symbol))];
  catalog = {algorithms: byName, symbols: names};
  fillSelect($('#search-algorithm'), SEARCH_KINDS.filter(
    (k) => byName[k === 'multi-ticker-pbt' ? 'pbt' : k] || !algorithms.search_algorithms));
  fillSelect($('#search-strategy'), (algorithms.strategies || []).map((s) => s.name));
  if ([...$('#search-strategy').options].some((o) => o.value === 'ema_crossover')) {
    $('#search-strategy').value = 'ema_crossover';
  }
  const box = $('#search-symbols');
  box.replaceChildren(el('legend', {}, `Symbols (${names.length} in the store)`),
    ...names.map((name, i) => el('label', {class: 'check'},
      el('input', {type: 'checkbox', name: 'symbol', value: name, checked: i < 2}), name)));
  fillSelect($('#predict-symbol'), names);
  showAlgorithmFields();
  return true;
}

// The form as a search config (throws Error with a message for bad input).
function searchConfig(form) {
  const f = form.elements;
  const symbols = [...form.querySelectorAll('input[name=symbol]:checked')].map((c) => c.value);
  if (symbols.length === 0) throw new Error('choose at least one symbol');
  const config = {strategy: f.strategy.value, symbols, seed: Number(f.seed.value || 42)};
  if (f.name.value.trim()) config.name = f.name.value.trim();
  if (f.in_sample.value) config.split = {in_sample: Number(f.in_sample.value)};
  config.fitness = {metric: f.metric.value, aggregate: f.aggregate.value};
  if (f.min_trades.value !== '') config.fitness.min_trades = Number(f.min_trades.value);
  for (const label of form.querySelectorAll('[data-key]')) {
    if (label.hidden) continue;
    const input = label.querySelector('input');
    if (input.value.trim() === '') continue;
    config[label.dataset.key] = input.type === 'number' ? Number(input.value) : input.value.trim();
  }
  const extra = f.extra.value.trim();
  if (extra) {
    let more;
    try {
      more = JSON.parse(extra);
    } catch (e) {
      throw new Error(`more keys: not JSON (${e.message})`);
    }
    if (!more || typeof more !== 'object' || Array.isArray(more)) {
      throw new Error('more keys: must be a JSON object');
    }
    Object.assign(config, more);
  }
  return config;
}

// `onStarted(name)` is called after a 202.
export function initSearchForm(onStarted) {
  fillSelect($('#search-algorithm'), SEARCH_KINDS);
  $('#search-algorithm').addEventListener('change', showAlgorithmFields);
  showAlgorithmFields();
  const form = $('#search-form');
  const message = $('#search-message');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let config;
    try {
      config = searchConfig(form);
    } catch (e) {
      say(message, e.message, false);
      return;
    }
    const button = $('#search-submit');
    button.disabled = true;
    try {
      const kind = form.elements.algorithm.value;
      const answer = await api('POST', `/search/${enc(kind)}`, config);
      say(message, `started ${answer.name}`);
      onStarted(answer.name);
    } catch (e) {
      say(message, e.message, false);
    } finally {
      button.disabled = false;
    }
  });
}

// GET /ensemble: the table and the predict form's choices.
export async function pollEnsembles() {
  const answer = await api('GET', '/ensemble');
  const list = answer.ensembles || [];
  fillRows($('#ensembles-table tbody'), list.map((e) => [
    e.name, e.voting, e.threshold, e.num_models ?? (e.members || []).length, e.version,
    e.symbol || '', e.experiment || '']));
  $('#ensembles-empty').hidden = list.length > 0;
  fillSelect($('#predict-ensemble'), list.map((e) => e.name));
}

// The finished experiments, for the deploy form.
export function setExperiments(list) {
  fillSelect($('#deploy-experiment'),
             list.filter((e) => e.status === 'finished').map((e) => e.name));
}

function renderPrediction(p) {
  const signal = String(p.signal || 'HOLD');
  const members = p.members || [];
  const table = el('table', {}, el('thead', {}, el('tr', {}, ...['id', 'strategy', 'position',
    'strength', 'weight', 'vote'].map((h) => el('th', {}, h)))), el('tbody'));
  fillRows(table.tBodies[0], members.map((m) => [m.id, m.strategy, m.position, m.strength,
                                                  m.weight, m.vote]));
  return [
    el('p', {class: 'prediction'}, el('span', {class: `signal signal-${signal.toLowerCase()}`},
      signal), ` confidence ${num(p.confidence, 3)}, score ${num(p.score, 3)} — ` +
      `${p.num_models} models, ${p.voting_method} voting, version ${p.version}, ` +
      `as of ${p.as_of}`),
    table,
  ];
}

// `onDeployed()` is called after a deploy.
export function initEnsembleForms(onDeployed) {
  $('#predict-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const box = $('#predict-result');
    const name = $('#predict-ensemble').value;
    if (!name) {
      box.replaceChildren(el('p', {class: 'message error'}, 'no ensemble to ask'));
      return;
    }
    try {
      const p = await api('POST', `/ensemble/${enc(name)}/predict`,
                          {symbol: $('#predict-symbol').value});
      box.replaceChildren(...renderPrediction(p));
    } catch (e) {
      box.replaceChildren(el('p', {class: 'message error'}, e.message));
    }
  });
  const deploy = $('#deploy-form');
  deploy.addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = deploy.elements;
    const message = $('#deploy-message');
    if (!f.experiment_name.value) {
      say(message, 'no finished experiment to deploy', false);
      return;
    }
    try {
      const e = await api('POST', '/ensemble/deploy-pbt-survivors', {
        ensemble_name: f.ensemble_name.value.trim(), experiment_name: f.experiment_name.value,
        top_n: Number(f.top_n.value), voting: f.voting.value,
        threshold: Number(f.threshold.value),
      });
      say(message, `deployed ${e.name} (${e.num_models ?? (e.members || []).length} members)`);
      onDeployed(e.name);
    } catch (e) {
      say(message, e.message, false);
    }
  });
}
