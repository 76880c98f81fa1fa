// quantfarm dashboard, served by `quantfarm serve` at GET / (serve/dashboard.cc). It
// only reads and posts the head's JSON routes; the files are compiled into the binary.
//
// Why the charts are hand-written SVG (plot.js, ~100 lines) and not a charting library:
// the page must work with no network and is embedded in the binary, so a library would
// have to be vendored — tens to hundreds of KiB of third-party code to review, update
// and track the licence of — for two line series per experiment. SVG drawn from the
// DOM is crisp at any size, styled by dashboard.css, allowed by a strict
// Content-Security-Policy (no inline code), and lets the browser test count the plotted
// points. For the same reason there is no framework, no npm and no bundler at build
// time: these ES modules are served as written.
//
// Polling: one setTimeout chain, never setInterval, so a slow answer never piles up
// requests: every POLL_MS while the tab is visible (paused while hidden) it reads GET
// /status and GET /experiments, and the selected experiment while it runs (after it
// ends: once more, then never again); ensembles every ENSEMBLE_EVERY polls.
// Requests/s per service are differences of /status "handled" counts between polls.
//
// The API token (the server's QUANTFARM_API_TOKEN) is typed into a password field and
// kept in memory, or in sessionStorage when "keep in this tab" is ticked (never
// localStorage); it is sent only as the Authorization header of POST and DELETE
// requests, never in a URL.

import {$, api, fillRows, num, setToken, tiles} from './common.js';
import {initExperiments, pollExperiments, pollSelected, select} from './experiments.js';
import {initEnsembleForms, initSearchForm, loadCatalog, pollEnsembles,
        setExperiments} from './forms.js';

const POLL_MS = 1000;
const ENSEMBLE_EVERY = 5;
const TOKEN_KEY = 'quantfarm.api_token';

let tick = 0;
let timer = null;
let polling = false;
let lastHandled = null;  // {ms, handled: {service: count}}

function initToken() {
  const input = $('#token');
  const keep = $('#token-keep');
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    input.value = saved;
    keep.checked = true;
    setToken(saved);
  }
  const persist = () => {
    const value = input.value.trim();
    setToken(value);
    if (keep.checked && value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  };
  input.addEventListener('input', persist);
  keep.addEventListener('change', persist);
  $('#token-form').addEventListener('submit', (event) => event.preventDefault());
}

function renderStatus(s, ms) {
  const services = Object.entries(s.services || {});
  const replicas = services.reduce((sum, [, v]) => sum + (v.replicas || 0), 0);
  const ongoing = services.reduce((sum, [, v]) => sum + (v.ongoing || 0), 0);
  const queued = services.reduce((sum, [, v]) => sum + (v.queued || 0), 0);
  const workers = s.workers || [];
  const lost = s.lost_workers || [];
  tiles($('#cluster-tiles'), [
    ['ranks', num(s.ranks)], ['slots', num(s.slots)], ['workers', num(workers.length)],
    ['spawned workers', num(s.spawned_workers)], ['replicas', num(replicas)],
    ['ongoing', num(ongoing)], ['queued', num(queued)], ['searches', num(s.searches)],
    ['search tasks pending', num(s.search_tasks_pending)],
  ]);
  const handled = Object.fromEntries(services.map(([name, v]) => [name, v.handled || 0]));
  const rate = (name) => {
    if (!lastHandled || !(name in lastHandled.handled) || ms <= lastHandled.ms) return null;
    return Math.max(0, handled[name] - lastHandled.handled[name]) * 1000 / (ms - lastHandled.ms);
  };
  fillRows($('#services-table tbody'), services.map(([name, v]) => [
    name, v.replicas, v.target_replicas, v.ongoing, v.queued,
    rate(name) === null ? '–' : Number(rate(name).toFixed(1)), v.handled, v.rejected]));
  lastHandled = {ms, handled};
  fillRows($('#workers-table tbody'), workers.map((w) => [
    w.name, w.spawned ? 'spawned' : 'rank', w.replicas, w.search_tasks]));
  const lostNote = $('#lost-workers');
  lostNote.hidden = lost.length === 0;
  lostNote.textContent = `lost workers: ${lost.join(', ')}`;
}

function connection(ok, detail) {
  const badge = $('#connection');
  badge.className = `badge ${ok ? 'status-finished' : 'status-failed'}`;
  badge.textContent = ok ? `live · ${new Date().toLocaleTimeString()}` : `offline · ${detail}`;
}

async function pollStatus() {
  const s = await api('GET', '/status');
  renderStatus(s, performance.now());
}

async function poll() {
  timer = null;
  polling = true;
  const jobs = [pollStatus(), pollExperiments().then(setExperiments), pollSelected(tick),
                loadCatalog()];
  if (tick % ENSEMBLE_EVERY === 0) jobs.push(pollEnsembles());
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === 'rejected');
  connection(!failed, failed ? failed.reason.message : '');
  tick += 1;
  polling = false;
  schedule();
}

function schedule(delay = POLL_MS) {
  if (document.hidden || polling || timer !== null) return;
  timer = setTimeout(poll, tick === 0 ? 0 : delay);
}

function start() {
  initToken();
  initExperiments();
  initSearchForm((name) => {
    select(name);
    if (timer !== null) {  // show it at once
      clearTimeout(timer);
      timer = null;
    }
    schedule(0);
  });
  initEnsembleForms(() => pollEnsembles().catch(() => {}));
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    schedule();
  });
  schedule();
}

start();
