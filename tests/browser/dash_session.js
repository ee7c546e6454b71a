// Drives Debian's headless Chromium (puppeteer-core from web/node_modules)
// through a dashboard session described by a plan, and prints one JSON
// object with a result per step on stdout.  Usage:
//   node dash_session.js PLAN.json
// PLAN: {"base": "http://127.0.0.1:PORT", "steps": [step...]}, where a step is
//   {"visit": "/path?query", "fresh": true?, "shot": "OUT.png"?, "text": [ids]?}
//       opens the page (fresh: in a new browser context with no cookie) and
//       reports status, final URL, console/page errors, dialogs, requests
//       that left the dashboard, charts (SVG element counts and sizes, and
//       each ECharts series' name, point count and last point), the text of
//       the elements named, the navigation links, the cells of the qt-paper-*
//       tables, the cookie's flags and the script count;
//   {"run": "shell command"}  runs it (exit status reported) while the page stays open;
//   {"wait_text": {"id": ID, "value": TEXT}}  waits (bounded, not a speed
//       check) until the open page's element shows TEXT and reports what it shows;
//   {"post": "/path", "csrf": "none"|"wrong"|"right", "how": "header"|"form"}
//       POSTs from the open page with fetch and reports the status;
//   {"submit": "form selector"}  submits a form of the page, reports the status;
//   {"fill": "input selector", "value": TEXT}  types TEXT into an input of the open page;
//   {"click": "selector", "text": [ids]?, "shot": "OUT.png"?}  clicks it (a submit
//       button), waits for the page it leads to and reports status, body and texts.
// A "post" step may carry "body" (urlencoded fields after the csrf one); it
// reports the answer's text too.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execSync } = require('child_process');
const root = path.resolve(__dirname, '..', '..');
const puppeteer = require(path.join(root, 'web', 'node_modules', 'puppeteer-core'));
const BOUND = 180000; // a bound for a loaded 2-core machine, not a speed check

async function inspect(page, ids) {
  return page.evaluate((textIds) => {
    const r = { ready: document.body ? document.body.hasAttribute('data-qt-ready') : false,
                charts: [], text: {}, scripts: document.scripts.length, title: document.title };
    document.querySelectorAll('.chart').forEach((div) => {
      const svg = div.querySelector('svg');
      const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      r.charts.push({ id: div.id, svg: !!svg,
                      elements: svg ? svg.querySelectorAll('path,rect,text,circle,polyline,polygon').length : 0,
                      width: Math.round(box.width), height: Math.round(box.height) });
    });
    textIds.forEach((id) => { const e = document.getElementById(id); r.text[id] = e ? e.textContent : null; });
    r.rows = {};
    document.querySelectorAll('table[id]').forEach((t) => { r.rows[t.id] = t.rows.length - 1; });
    r.links = Array.from(document.querySelectorAll('#qt-studies a, #qt-top a, #qt-paper-runs a')).map((a) => a.getAttribute('href'));
    r.nav = Array.from(document.querySelectorAll('#qt-nav a')).map((a) => a.getAttribute('href'));
    // the cells' text of the tables named qt-paper-* (a row per table row)
    r.cells = {};
    document.querySelectorAll('table[id^="qt-paper-"]').forEach((t) => {
      r.cells[t.id] = Array.from(t.rows).map((tr) => Array.from(tr.cells).map((c) => c.textContent));
    });
    // what each ECharts chart was given: per series its name, point count and last point
    r.echarts = {};
    document.querySelectorAll('.chart').forEach((div) => {
      const c = window.echarts && window.echarts.getInstanceByDom(div);
      if (!c) return;
      r.echarts[div.id] = (c.getOption().series || []).map((x) => ({
        name: x.name, points: (x.data || []).length, last: (x.data || []).length ? x.data[x.data.length - 1] : null }));
    });
    return r;
  }, ids || []);
}

(async () => {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'qtune-chromium-'));
  const results = [];
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, userDataDir: profile,
    timeout: BOUND, protocolTimeout: BOUND,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
  let page = null, log = null;
  async function open(fresh) {
    const ctx = fresh ? await browser.createBrowserContext() : browser.defaultBrowserContext();
    const p = await ctx.newPage();
    await p.setViewport({ width: 1280, height: 900 });
    const l = { console_errors: [], page_errors: [], dialogs: [], external_requests: [] };
    p.on('console', (m) => { if (m.type() === 'error') l.console_errors.push(m.text()); });
    p.on('pageerror', (e) => l.page_errors.push(String(e && e.message || e)));
    p.on('dialog', async (d) => { l.dialogs.push(d.type() + ': ' + d.message()); await d.dismiss(); });
    p.on('request', (r) => { if (!r.url().startsWith(plan.base)) l.external_requests.push(r.url()); });
    return [p, l];
  }
  try {
    for (const st of plan.steps) {
      const res = { step: st };
      if (st.visit !== undefined) {
        let p, l;
        if (st.fresh || !page) [p, l] = await open(!!st.fresh);
        else { p = page; l = log; for (const k of Object.keys(l)) l[k].length = 0; }
        if (!st.fresh) { page = p; log = l; }
        const resp = await p.goto(plan.base + st.visit, { waitUntil: 'load', timeout: BOUND });
        res.status = resp ? resp.status() : 0;
        if (res.status === 200)
          await p.waitForSelector('body[data-qt-ready]', { timeout: BOUND }).catch(() => {});
        res.url = p.url().slice(plan.base.length);
        Object.assign(res, await inspect(p, st.text));
        Object.assign(res, JSON.parse(JSON.stringify(l)));
        const ck = (await p.cookies()).find((c) => c.name === 'qt_session');
        res.cookie = ck ? { httpOnly: ck.httpOnly, sameSite: ck.sameSite, path: ck.path } : null;
        if (st.shot) await p.screenshot({ path: st.shot, fullPage: true });
        if (st.fresh) await p.close();
      } else if (st.run !== undefined) {
        try { execSync(st.run, { stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' }); res.exit = 0; }
        catch (e) { res.exit = e.status; res.stderr = String(e.stderr || '').slice(-400); }
      } else if (st.wait_text) {
        const { id, value } = st.wait_text;
        await page.waitForFunction((i, v) => { const e = document.getElementById(i); return e && e.textContent === v; },
                                   { timeout: BOUND, polling: 200 }, id, value).catch(() => {});
        Object.assign(res, await inspect(page, []));
        res.text = await page.evaluate((i) => { const e = document.getElementById(i); return e ? e.textContent : null; }, id);
        res.polls = await page.evaluate(() => document.getElementById('qt-nav').dataset.qtPolls || '0');
        if (st.shot) await page.screenshot({ path: st.shot, fullPage: true });
      } else if (st.post !== undefined) {
        res.status = await page.evaluate(async (p, csrf, how, extra) => {
          const good = document.querySelector('meta[name="qt-csrf"]').content;
          const tok = csrf === 'right' ? good : csrf === 'wrong' ? good.replace(/./g, '0') : null;
          const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
          let body = '';
          if (tok && how === 'form') body = 'csrf=' + tok; else if (tok) headers['X-QT-CSRF'] = tok;
          if (extra) body = body ? body + '&' + extra : extra;
          const r = await fetch(p, { method: 'POST', credentials: 'same-origin', headers, body });
          const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
          doc.querySelectorAll('style,script').forEach((e) => e.remove());
          return { status: r.status, text: doc.body ? doc.body.textContent : '' };
        }, st.post, st.csrf || 'none', st.how || 'header', st.body || '').then((a) => {
          res.body = a.text.replace(/\s+/g, ' ').trim().slice(0, 400);
          return a.status;
        });
      } else if (st.fill !== undefined) {
        await page.$eval(st.fill, (e) => { e.value = ''; });
        await page.type(st.fill, st.value);
        res.value = await page.$eval(st.fill, (e) => e.value);
      } else if (st.click !== undefined) {
        for (const k of Object.keys(log)) log[k].length = 0;
        const [resp] = await Promise.all([page.waitForNavigation({ timeout: BOUND }), page.click(st.click)]);
        res.status = resp ? resp.status() : 0;
        await page.waitForSelector('body[data-qt-ready]', { timeout: BOUND }).catch(() => {});
        res.body = await page.evaluate(() => document.body.innerText.slice(0, 400));
        Object.assign(res, await inspect(page, st.text));
        Object.assign(res, JSON.parse(JSON.stringify(log)));
        if (st.shot) await page.screenshot({ path: st.shot, fullPage: true });
      } else if (st.submit !== undefined) {
        const [resp] = await Promise.all([page.waitForNavigation({ timeout: BOUND }),
                                          page.$eval(st.submit, (f) => f.submit())]);
        res.status = resp ? resp.status() : 0;
        res.body = await page.evaluate(() => document.body.innerText.slice(0, 200));
      }
      results.push(res);
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ steps: results }, null, 1) + '\n');
})().catch((e) => { console.error('dash_session: ' + (e && e.stack || e)); process.exit(2); });
