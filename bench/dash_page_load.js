// The dashboard's study page in Debian's headless Chromium (puppeteer-core
// from web/node_modules), for bench_dashboard: for each repeat and each
// study named (alternating, so both see the same machine), a fresh page
// opens BASE/study?name=S with the bearer token and waits for report.js's
// data-qt-ready-ms (performance.now() two frames after the charts were
// drawn: navigation start to charts painted, the server's answer included).
// Prints one JSON object: per study the best ms, every run's ms and when its
// HTML had arrived (responseEnd), the charts drawn (an SVG with elements)
// and the console errors seen.
//   node dash_page_load.js BASE TOKEN REPEATS NAME [NAME...]
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const root = path.resolve(__dirname, '..');
const puppeteer = require(path.join(root, 'web', 'node_modules', 'puppeteer-core'));

(async () => {
  const [base, token, repeatsText, ...names] = process.argv.slice(2);
  const repeats = Math.max(1, +repeatsText || 1);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'qtune-chromium-'));
  const out = {};
  names.forEach((n) => { out[n] = { runs_ms: [], charts: 0, errors: [] }; });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    timeout: 180000, // a bound for a loaded 2-core machine, not a speed check
    protocolTimeout: 180000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
  try {
    for (let k = 0; k < repeats; k++) {
      for (const name of names) {
        const o = out[name];
        const page = await browser.newPage();
        await page.setViewport({ width: 1280, height: 900 });
        await page.setExtraHTTPHeaders({ Authorization: 'Bearer ' + token });
        page.on('console', (m) => { if (m.type() === 'error') o.errors.push(m.text()); });
        page.on('pageerror', (e) => o.errors.push(String(e && e.message || e)));
        await page.goto(base + '/study?name=' + encodeURIComponent(name),
                        { waitUntil: 'load', timeout: 180000 });
        await page.waitForSelector('body[data-qt-ready-ms]', { timeout: 180000 });
        const r = await page.evaluate(() => ({
          ms: +document.body.dataset.qtReadyMs,
          response_ms: Math.round(performance.getEntriesByType('navigation')[0].responseEnd),
          charts: Array.from(document.querySelectorAll('.chart svg'))
            .filter((s) => s.querySelectorAll('path,rect,text').length > 0).length,
        }));
        o.runs_ms.push(r.ms);
        o.response_ms = (o.response_ms || []).concat([r.response_ms]);
        o.charts = r.charts;
        await page.close();
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  names.forEach((n) => { out[n].best_ms = Math.min.apply(null, out[n].runs_ms); });
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => { console.error('dash_page_load: ' + (e && e.stack || e)); process.exit(2); });
