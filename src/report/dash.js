/* qtune dashboard: keeps the open page current by polling its JSON API
 * (the server re-reads the storage on every request) and draws the compare
 * chart.  Text goes in with textContent only; links are built with
 * encodeURIComponent.  POSTs carry the session's CSRF token from
 * <meta name="qt-csrf"> in the X-QT-CSRF header (qtDash.post). */
(function () {
  'use strict';
  function el(id) { return document.getElementById(id); }
  var nav = el('qt-nav');
  if (!nav) return;
  var page = nav.dataset.qtPage, pollMs = +nav.dataset.qtPoll || 2000;
  var meta = document.querySelector('meta[name="qt-csrf"]');
  var csrf = meta ? meta.content : '';
  var polls = 0, last = null;
  window.qtDash = {
    csrf: csrf,
    post: function (path, body) {
      return fetch(path, { method: 'POST', credentials: 'same-origin',
                           headers: { 'X-QT-CSRF': csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
                           body: body || '' });
    }
  };
  function status(text) { var s = el('qt-live'); if (s) s.textContent = text; }
  /* GETs url every pollMs; calls draw(json) when the answer changed. */
  function poll(url, draw) {
    function once() {
      fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
        if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
        return r.text();
      }).then(function (txt) {
        polls++;
        nav.dataset.qtPolls = String(polls);
        if (txt !== last) { last = txt; draw(JSON.parse(txt)); }
        status('live: updated ' + new Date().toLocaleTimeString());
      }).catch(function (e) {
        status('not updating: ' + e.message);
      }).then(function () { setTimeout(once, pollMs); });
    }
    setTimeout(once, pollMs);
  }

  function studiesTable(J) {
    var tb = el('qt-studies').tBodies[0];
    while (tb.rows.length) tb.deleteRow(0);
    J.studies.forEach(function (s) {
      var tr = tb.insertRow();
      s.cells.forEach(function (cell, k) {
        var td = tr.insertCell();
        if (k === 0) {
          var a = document.createElement('a');
          a.href = '/study?name=' + encodeURIComponent(s.name);
          a.textContent = cell;
          td.appendChild(a);
        } else {
          td.textContent = cell;
          if (cell === 'running') td.className = 'state-running';
        }
      });
    });
    el('qt-n-studies').textContent = String(J.studies.length);
  }

  /* the top-N table's trial numbers link to their trial pages */
  function linkTrials() {
    var t = el('qt-top'), name = new URLSearchParams(location.search).get('name');
    if (!t || name === null) return;
    for (var i = 1; i < t.rows.length; i++) {
      var td = t.rows[i].cells[1];
      if (!td || td.querySelector('a')) continue;
      var a = document.createElement('a');
      a.href = '/trial?study=' + encodeURIComponent(name) + '&number=' + encodeURIComponent(td.textContent);
      a.textContent = td.textContent;
      td.textContent = '';
      td.appendChild(a);
    }
  }

  function compareChart() {
    var d = el('qt-compare-data');
    if (!d || !window.echarts) return;
    var S = JSON.parse(d.textContent);
    var c = echarts.init(el('qt-chart-compare'), null, { renderer: 'svg' });
    c.setOption({
      animation: false, tooltip: { trigger: 'item' },
      legend: { data: S.map(function (s) { return s.name; }) },
      xAxis: { type: 'value', name: 'trial' }, yAxis: { type: 'value', name: S[0].objective, scale: true },
      series: S.map(function (s) {
        return { name: s.name, type: 'line', step: 'end', showSymbol: false, data: s.history };
      })
    });
  }

  /* the paper runs list, rebuilt from /api/paper */
  function paperTable(J) {
    var tb = el('qt-paper-runs').tBodies[0];
    while (tb.rows.length) tb.deleteRow(0);
    J.runs.forEach(function (r) {
      var tr = tb.insertRow();
      r.cells.forEach(function (cell, k) {
        var td = tr.insertCell();
        if (k === 0) {
          var a = document.createElement('a');
          a.href = '/paper/run?name=' + encodeURIComponent(r.name);
          a.textContent = cell;
          td.appendChild(a);
        } else {
          td.textContent = cell;
          if (cell === 'running') td.className = 'state-running';
        }
      });
    });
    el('qt-n-runs').textContent = String(J.runs.length);
  }

  /* a paper run: its equity chart and summary, redrawn from /api/paper/run */
  var paperChart = null;
  function paperRun(P) {
    function set(id, text, value) {
      var e = el(id);
      if (!e) return;
      e.textContent = text;
      if (value !== undefined) e.dataset.value = String(value);
    }
    set('qt-paper-status', P.status);
    set('qt-paper-last-bar', P.last_bar);
    set('qt-paper-n-bars', String(P.n_bars));
    set('qt-paper-n-trades', String(P.n_trades));
    if (P.equity !== null) set('qt-paper-equity', P.equity.toFixed(2), P.equity);
    if (P.pnl !== null) set('qt-paper-pnl', (P.pnl >= 0 ? '+' : '') + P.pnl.toFixed(2), P.pnl);
    var note = 'Marked equity after each of the runner\'s ' + P.n_marked + ' commits, and the ' +
               'realized equity (start cash plus the closed trades\' P&L) after each of ' +
               Math.max(P.n_realized - 1, 0) + ' trades';
    if (P.marked.length < P.n_marked || P.realized.length < P.n_realized)
      note += '; down-sampled for display to ' + P.marked.length + ' and ' + P.realized.length +
              ' points (Largest-Triangle-Three-Buckets)';
    set('qt-paper-equity-note', note + '.');
    /* the API's tables: the server's escaped HTML of the same tables */
    if (typeof P.tables === 'string' && el('qt-paper-tables')) el('qt-paper-tables').innerHTML = P.tables;
    if (!window.echarts) return;
    if (!paperChart) paperChart = echarts.init(el('qt-chart-paper-equity'), null, { renderer: 'svg' });
    paperChart.setOption({
      animation: false, tooltip: { trigger: 'axis' },
      legend: { data: ['marked equity', 'realized equity'], top: 0 },
      grid: { left: 70, right: 30, top: 50, bottom: 40 },
      xAxis: { type: 'time' }, yAxis: { type: 'value', scale: true, name: 'equity' },
      series: [
        { name: 'marked equity', type: 'line', showSymbol: P.marked.length < 50, data: P.marked },
        { name: 'realized equity', type: 'line', step: 'end', showSymbol: false, data: P.realized,
          lineStyle: { width: 1 } }
      ]
    });
  }

  if (page === 'paper') {
    poll('/api/paper', paperTable);
    document.body.setAttribute('data-qt-ready', '1');
  } else if (page === 'paper-run') {
    var pd = el('qt-paper-data');
    if (pd) paperRun(JSON.parse(pd.textContent));
    poll('/api/paper/run' + location.search, paperRun);
    document.body.setAttribute('data-qt-ready', '1');
  } else if (page === 'studies') {
    poll('/api/studies', studiesTable);
    document.body.setAttribute('data-qt-ready', '1');
  } else if (page === 'study') {
    linkTrials();
    poll('/api/study' + location.search, function (D) {
      if (window.qtReport) window.qtReport.render(D);
      linkTrials();
    });
  } else if (page === 'compare') {
    compareChart();
    document.body.setAttribute('data-qt-ready', '1');
  } else {
    document.body.setAttribute('data-qt-ready', '1');
  }
})();
