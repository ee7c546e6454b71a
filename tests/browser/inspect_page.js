// Opens an HTML file in Debian's headless Chromium (puppeteer-core from
// web/node_modules; never a downloaded browser) and prints what a test needs
// to know about the page as one JSON object on stdout: console errors and
// page errors, dialogs (an alert() would mean injected script ran), requests
// that left the file, every chart's SVG (element count and size), and the
// text of the elements named by --text ids.  A full-page screenshot goes to
// --screenshot.  A canvas chart reports its painted (non-transparent) pixels;
// ready_ms is the page's own data-qt-ready-ms (performance.now() when its
// charts were painted).  With --cpu the load is traced and cpu_ms is the
// renderer main thread's CPU time (thread time of its top-level tasks) from
// navigation until the page was ready: on a loaded machine the wall time
// mostly measures the others' work, this the page's own.  Usage:
//   node inspect_page.js FILE.html --screenshot OUT.png [--text id,id,...] [--cpu]
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const root = path.resolve(__dirname, '..', '..');
const puppeteer = require(path.join(root, 'web', 'node_modules', 'puppeteer-core'));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

// The renderer main thread's CPU time in ms: the thread time (tdur) of its
// outermost complete events, each counted once (nested ones lie inside).
function mainThreadCpuMs(trace) {
  const ev = trace.traceEvents || trace;
  // the page's renderer: of the renderer main threads, the one that parsed HTML
  const mains = new Set(ev.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args &&
                                         e.args.name === 'CrRendererMain').map((e) => e.pid + ':' + e.tid));
  const parse = ev.find((e) => e.name === 'ParseHTML' && mains.has(e.pid + ':' + e.tid));
  if (!parse) return null;
  const xs = ev.filter((e) => e.ph === 'X' && e.pid === parse.pid && e.tid === parse.tid && e.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  let end = -Infinity, us = 0;
  for (const e of xs) {
    if (e.ts < end) continue; // inside the last outermost event
    end = e.ts + e.dur;
    us += e.tdur !== undefined ? e.tdur : e.dur;
  }
  return Math.round(us / 1000);
}

(async () => {
  const file = path.resolve(process.argv[2]);
  const shot = arg('--screenshot', null);
  const ids = (arg('--text', '') || '').split(',').filter(Boolean);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'qtune-chromium-'));
  const out = { console_errors: [], page_errors: [], dialogs: [], external_requests: [],
                charts: [], text: {}, data: {} };
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
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
    page.on('pageerror', (e) => out.page_errors.push(String(e && e.message || e)));
    page.on('dialog', async (d) => { out.dialogs.push(d.type() + ': ' + d.message()); await d.dismiss(); });
    page.on('request', (r) => { if (!r.url().startsWith('file://')) out.external_requests.push(r.url()); });
    const cpu = process.argv.includes('--cpu');
    if (cpu) await page.tracing.start({ categories: ['devtools.timeline', 'toplevel'] });
    await page.goto('file://' + file, { waitUntil: 'load', timeout: 180000 });
    // the page script marks the body when every chart is drawn
    await page.waitForSelector('body[data-qt-ready]', { timeout: 180000 }).catch(() => {});
    if (cpu) out.cpu_ms = mainThreadCpuMs(JSON.parse(Buffer.from(await page.tracing.stop()).toString('utf8')));
    Object.assign(out, await page.evaluate((textIds) => {
      const r = { ready: document.body.hasAttribute('data-qt-ready'), charts: [], text: {}, data: {} };
      document.querySelectorAll('.chart').forEach((div) => {
        const svg = div.querySelector('svg'), cv = div.querySelector('canvas');
        const box = (svg || cv) ? (svg || cv).getBoundingClientRect() : { width: 0, height: 0 };
        // a canvas chart: how many of its pixels are painted (not transparent)
        let painted = 0;
        if (cv && cv.width && cv.height) {
          const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
          for (let i = 3; i < px.length; i += 4) if (px[i]) painted++;
        }
        r.charts.push({ id: div.id, svg: !!svg, canvas: !!cv, painted,
                        elements: svg ? svg.querySelectorAll('path,rect,text,circle,polyline,polygon').length : 0,
                        width: Math.round(box.width), height: Math.round(box.height) });
      });
      textIds.forEach((id) => {
        const e = document.getElementById(id);
        r.text[id] = e ? e.textContent : null;
        if (e && e.dataset.value !== undefined) r.data[id] = e.dataset.value;
      });
      r.scripts = document.scripts.length;
      r.ready_ms = document.body.dataset.qtReadyMs ? +document.body.dataset.qtReadyMs : null;
      r.rows = {};
      document.querySelectorAll('table[id]').forEach((t) => { r.rows[t.id] = t.rows.length - 1; });
      r.title = document.title;
      r.top_rows = document.querySelectorAll('#qt-top tr').length - 1;
      return r;
    }, ids));
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
})().catch((e) => { console.error('inspect_page: ' + (e && e.stack || e)); process.exit(2); });
