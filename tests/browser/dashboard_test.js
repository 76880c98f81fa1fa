// The dashboard in headless Chromium (playwright-core), driven by dashboard_test.sh,
// which starts the server. Environment: QF_URL (the server), QF_TOKEN (its
// QUANTFARM_API_TOKEN), QF_CHROMIUM (the browser), QF_SCREENSHOTS (a folder).
// Fails, with a screenshot failure.png, on any console error or page error, on a
// missing element or value, or when a bounded wait runs out.
'use strict';
const path = require('path');
const {chromium} = require('playwright-core');

const BASE = process.env.QF_URL;
const TOKEN = process.env.QF_TOKEN;
const SHOTS = process.env.QF_SCREENSHOTS;
const NAME = 'dash-ga';
const ENSEMBLE = 'dash-best';

const problems = [];  // console errors and page errors, in order
const requests = [];  // {method, url, authorization}
let page;
const t0 = Date.now();
const log = (text) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${text}`);

function check(ok, what) {
  if (!ok) throw new Error(what);
}

// page.waitForFunction with a bound and a message naming what was awaited.
async function waitFor(what, fn, arg, seconds = 30) {
  try {
    return await page.waitForFunction(fn, arg, {timeout: seconds * 1000, polling: 100});
  } catch (e) {
    throw new Error(`no ${what} within ${seconds} s (${e.message.split('\n')[0]})`);
  }
}

async function shot(name) {
  const file = path.join(SHOTS, name);
  await page.screenshot({path: file, fullPage: true});
  log(`screenshot ${file}`);
}

// Points of the "best" line of the detail plot: [data-points, path commands].
const plotPoints = () => page.evaluate(() => {
  const p = document.querySelector('#detail-plot path.line.best');
  if (!p) return [0, 0];
  return [Number(p.dataset.points), (p.getAttribute('d').match(/[ML]/g) || []).length];
});

function noProblems(when) {
  check(problems.length === 0, `console/page errors ${when}:\n  ${problems.join('\n  ')}`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.QF_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    page = await browser.newPage({viewport: {width: 1400, height: 1000}});
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(
        {method: r.method(), url: r.url(), authorization: r.headers().authorization}));
    await run();
  } catch (e) {
    if (page) await page.screenshot({path: path.join(SHOTS, 'failure.png'), fullPage: true})
        .catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

async function run() {
  // 1. Loads, with the cluster from /status.
  await page.goto(BASE + '/', {waitUntil: 'load'});
  await waitFor('ranks tile showing 3', () => [...document.querySelectorAll('#cluster-tiles div')]
      .some((d) => d.querySelector('dt').textContent === 'ranks' &&
                   d.querySelector('dd').textContent === '3'), null, 15);
  await waitFor('4 services with a requests/s figure', () => {
    const rows = [...document.querySelectorAll('#services-table tbody tr')];
    return rows.length === 4 && rows.every((r) => /^[0-9.]+$/.test(r.cells[5].textContent));
  }, null, 15);
  await waitFor('live connection badge', () =>
      document.querySelector('#connection').textContent.startsWith('live'), null, 10);
  await waitFor('symbols in the search form', () =>
      document.querySelectorAll('#search-symbols input[name=symbol]').length === 3, null, 10);
  const workers = await page.locator('#workers-table tbody tr').count();
  check(workers === 2, `workers table has ${workers} rows, want 2 (ranks 1 and 2)`);
  noProblems('after loading');
  log('loaded: cluster of 3 ranks, 4 services, 2 workers, no console error');
  await shot('1-loaded.png');

  // 2. A search from the form, with the token typed into the page.
  await page.fill('#token', TOKEN);
  await page.selectOption('#search-algorithm', 'ga');
  await page.selectOption('#search-strategy', 'ema_crossover');
  await page.fill('#search-name', NAME);
  await page.fill('#search-form input[name=population_size]', '64');
  await page.fill('#search-form input[name=num_generations]', '300');
  await page.fill('#search-form input[name=min_trades]', '3');
  await page.click('#search-submit');
  await waitFor('"started" message', (n) =>
      document.querySelector('#search-message').textContent === `started ${n}`, NAME, 15);
  await waitFor('the search in the experiments list',
      (n) => !!document.querySelector(`#experiments-table tbody tr[data-name="${n}"]`), NAME, 10);
  log('search started from the form and listed');

  // 3. The plot gains points while it runs.
  await waitFor('2 plotted steps while running', () => {
    const p = document.querySelector('#detail-plot path.line.best');
    return p && Number(p.dataset.points) >= 2 &&
           document.querySelector('#detail-status').textContent === 'running';
  }, null, 60);
  const [first, firstSegments] = await plotPoints();
  check(firstSegments === first, `path has ${firstSegments} commands for ${first} points`);
  await shot('2-running.png');
  await waitFor(`more than ${first} plotted steps while still running`, (n) => {
    const p = document.querySelector('#detail-plot path.line.best');
    return p && Number(p.dataset.points) > n &&
           document.querySelector('#detail-status').textContent === 'running';
  }, first, 30);
  const [second, secondSegments] = await plotPoints();
  const circles = await page.locator('#detail-plot .dots.best circle').count();
  check(secondSegments === second && circles === second,
        `path commands ${secondSegments}, circles ${circles}, points ${second}`);
  noProblems('while the search runs');
  log(`plot grew from ${first} to ${second} points while the search ran`);
  const eta = await page.evaluate(() => [...document.querySelectorAll('#detail-tiles div')]
      .map((d) => `${d.querySelector('dt').textContent}=${d.querySelector('dd').textContent}`));
  log(`live tiles: ${eta.join(', ')}`);
  check(eta.some((t) => /^evaluations\/s=[0-9.,]+$/.test(t)), 'no evaluations/s figure');
  check(eta.some((t) => /^ETA=\d/.test(t)), 'no ETA figure');
  await shot('3-running-later.png');

  // 4. Finished: top list and overfitting report; polling of it stops.
  await waitFor('status finished', () =>
      document.querySelector('#detail-status').textContent === 'finished', null, 150);
  await waitFor('the top list', () =>
      document.querySelectorAll('#top-table tbody tr td.num').length >= 5, null, 10);
  await waitFor('the overfitting report', () =>
      /PBO/.test(document.querySelector('#overfitting').textContent), null, 10);
  const detailPath = `/experiments/${NAME}`;
  const polls = () => requests.filter((r) => new URL(r.url).pathname === detailPath).length;
  const before = polls();
  await page.waitForTimeout(3000);
  check(polls() === before, `GET ${detailPath} went on after it finished (${polls() - before})`);
  const [final] = await plotPoints();
  check(final >= second, `finished plot has ${final} points, fewer than ${second}`);
  log(`finished: ${final} points, top list and overfitting report; no polling afterwards`);
  await shot('4-finished.png');

  // 5. Ensemble: deploy the experiment's best, then predict.
  await page.fill('#deploy-form input[name=ensemble_name]', ENSEMBLE);
  await waitFor('the experiment in the deploy form', (n) =>
      [...document.querySelectorAll('#deploy-experiment option')].some((o) => o.value === n),
  NAME, 10);
  await page.selectOption('#deploy-experiment', NAME);
  await page.fill('#deploy-form input[name=top_n]', '3');
  await page.click('#deploy-form button[type=submit]');
  await waitFor('"deployed" message', () =>
      /^deployed /.test(document.querySelector('#deploy-message').textContent), null, 20);
  await waitFor('the ensemble in the list and the predict form', (n) =>
      [...document.querySelectorAll('#predict-ensemble option')].some((o) => o.value === n),
  ENSEMBLE, 10);
  await page.selectOption('#predict-ensemble', ENSEMBLE);
  await page.selectOption('#predict-symbol', 'AAA');
  await page.click('#predict-form button[type=submit]');
  await waitFor('a prediction', () => !!document.querySelector('#predict-result .signal'),
                null, 20);
  const signal = await page.textContent('#predict-result .signal');
  check(['BUY', 'SELL', 'HOLD'].includes(signal), `signal '${signal}'`);
  log(`ensemble ${ENSEMBLE} deployed from the page; predict AAA: ${signal}`);
  await shot('5-ensemble.png');

  // 6. The token: only in the Authorization header of POSTs, never in a URL or storage.
  check(!requests.some((r) => r.url.includes(TOKEN)), 'the token appeared in a URL');
  const posts = requests.filter((r) => r.method === 'POST');
  check(posts.length >= 3 && posts.every((r) => r.authorization === `Bearer ${TOKEN}`),
        `POSTs without the bearer token: ${JSON.stringify(posts.map((r) => r.url))}`);
  check(!requests.some((r) => r.method === 'GET' && r.authorization),
        'a GET carried the token');
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
  check(stored[0] === 0 && stored[1] === 0, `storage holds ${stored} items without "keep"`);
  check(requests.every((r) => r.url.startsWith(BASE)), 'a request left the server\'s origin');
  noProblems('at the end');
  log(`${requests.length} requests, all to ${BASE}; token only in POST headers; no errors`);
}

const deadline = setTimeout(() => {
  console.error('FAIL: the browser test ran over 240 s');
  process.exit(1);
}, 240 * 1000);
main().then(() => {
  clearTimeout(deadline);
  log('PASS');
}, (e) => {
  clearTimeout(deadline);
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
