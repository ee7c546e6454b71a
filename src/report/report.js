/* qtune study report: draws the charts of the page from the JSON in
 * #qt-data with the embedded ECharts (SVG renderer: crisp, and the browser
 * tests can count its elements).  Text goes in with textContent only, so
 * names from the study never become markup. */
(function () {
  'use strict';
  function el(id) { return document.getElementById(id); }
  /* Every chart's size, read in one pass before the first chart is drawn:
   * ECharts reads its node's size when it starts, and each read after the
   * previous chart added its SVG forces the browser to lay the page out
   * again (one layout instead of one per chart). */
  var sizes = {};
  function measure() {
    sizes = {};
    Array.prototype.forEach.call(document.querySelectorAll('.chart'), function (n) {
      sizes[n.id] = { width: n.clientWidth, height: n.clientHeight };
    });
  }
  /* A chart drawn into node: the same ECharts instance again on a redraw
   * (the dashboard redraws with fresh data), its options replaced. */
  function chart(node, opt) {
    var c = echarts.getInstanceByDom(node);
    opt.animation = false;
    if (c) { c.setOption(opt, true); return c; }
    var sz = sizes[node.id] || { width: node.clientWidth, height: node.clientHeight };
    c = echarts.init(node, null, { renderer: 'svg', width: sz.width, height: sz.height });
    c.setOption(opt);
    /* the size given to init is fixed: a resize passes the node's new one */
    window.addEventListener('resize', function () {
      c.resize({ width: node.clientWidth, height: node.clientHeight });
    });
    return c;
  }
  /* Draws (or redraws) every chart of the page from the data D. */
  function render(D) {
  var P = D.params, T = D.trials, np = P.length, obj = D.objective;
  var better = D.maximize ? function (a, b) { return a > b; } : function (a, b) { return a < b; };
  function fmt(v) { return typeof v === 'number' ? Number(v.toPrecision(6)).toString() : String(v); }
  /* A param's value as shown: the choice label for categoricals. */
  function label(k, v) {
    var ch = P[k].choices;
    return ch && ch[v] !== undefined ? ch[v] : fmt(v);
  }
  function axisFor(k, name) {
    var a = { type: P[k].log ? 'log' : 'value', name: name, scale: true,
              axisLabel: { formatter: function (v) { return label(k, v); } } };
    if (P[k].type !== 'float') a.minInterval = 1; /* ints and choices: whole ticks */
    return a;
  }
  var ok = T.filter(function (r) { return r[1] !== null && r[2] === 1; });
  /* past this many points a scatter is drawn as one path, not a node per
   * point: a down-sampled 100,000-trial study has 2000 in each */
  var LARGE = 500;

  /* the summary's counts and best trial, and the top-N table (the same text
   * the C side wrote; a redraw with newer data replaces it) */
  function setText(id, v) { var e = el(id); if (e && v !== undefined) e.textContent = String(v); }
  if (D.counts) {
    setText('qt-n-trials', D.n_trials);
    ['complete', 'pruned', 'fail', 'running'].forEach(function (k) { setText('qt-n-' + k, D.counts[k]); });
    setText('qt-best-number', D.best_number === null ? '-' : D.best_number);
    setText('qt-best-value', D.best_text);
    if (el('qt-best-value') && D.best_value !== null) el('qt-best-value').dataset.value = String(D.best_value);
  }
  if (D.top && el('qt-top')) {
    var tb = el('qt-top');
    while (tb.rows.length > 1) tb.deleteRow(1);
    D.top.rows.forEach(function (row) {
      var tr = tb.insertRow();
      row.forEach(function (cell) { tr.insertCell().textContent = cell; });
    });
    setText('qt-top-n', D.top.rows.length);
  }

  el('qt-sampling-note').textContent = D.n_shown < D.n_complete
    ? 'Down-sampled for display: the charts show ' + D.n_shown + ' of ' + D.n_complete +
      ' complete trials (every ' + D.stride + '-th, plus each new best so far and the last); the ' +
      'best-so-far line is exact (every trial counted) and the table ranks them all.'
    : 'The charts show all ' + D.n_complete + ' complete trials' +
      (D.n_violated ? ' (the ' + D.n_violated + ' that violate a constraint only in the violations chart).' : '.');

  /* the slice plots' nodes, one per parameter, before the sizes are read */
  P.forEach(function (p, k) {
    if (el('qt-chart-slice-' + k)) return;
    var div = document.createElement('div');
    div.className = 'chart';
    div.id = 'qt-chart-slice-' + k;
    el('qt-slices').appendChild(div);
  });
  measure();

  /* optimization history with the best so far */
  chart(el('qt-chart-history'), {
    tooltip: { trigger: 'item' }, legend: { data: [obj, 'best so far'] },
    xAxis: { type: 'value', name: 'trial' }, yAxis: { type: 'value', name: obj, scale: true },
    series: [
      { name: obj, type: 'scatter', symbolSize: 6, large: true, largeThreshold: LARGE,
        data: ok.map(function (r) { return [r[0], r[1]]; }) },
      { name: 'best so far', type: 'line', step: 'end', showSymbol: false,
        data: T.filter(function (r) { return r[3] !== null; }).map(function (r) { return [r[0], r[3]]; }) }
    ]
  });

  /* importance, most important on top */
  var order = P.map(function (p, k) { return k; });
  order.sort(function (a, b) { return D.importance[a] - D.importance[b]; });
  chart(el('qt-chart-importance'), {
    tooltip: {}, grid: { left: 140 },
    xAxis: { type: 'value', name: 'importance', max: 1 },
    yAxis: { type: 'category', data: order.map(function (k) { return P[k].name; }) },
    series: [{ type: 'bar', data: order.map(function (k) { return D.importance[k]; }),
               label: { show: true, position: 'right', formatter: function (p) { return p.value.toFixed(3); } } }]
  });

  /* one slice plot per parameter */
  P.forEach(function (p, k) {
    chart(el('qt-chart-slice-' + k), {
      title: { text: p.name, left: 'center', textStyle: { fontSize: 13 } }, tooltip: {},
      xAxis: axisFor(k, p.name), yAxis: { type: 'value', name: obj, scale: true },
      series: [{ type: 'scatter', symbolSize: 5, large: true, largeThreshold: LARGE,
                 data: ok.filter(function (r) { return r[4 + k] !== null; })
                         .map(function (r) { return [r[4 + k], r[1]]; }) }]
    });
  });

  /* heatmap of two parameters: the best objective in each cell */
  function bins(k) {
    var vals = ok.map(function (r) { return r[4 + k]; }).filter(function (v) { return v !== null; });
    var uniq = Array.from(new Set(vals)).sort(function (a, b) { return a - b; });
    if (P[k].type !== 'float' && uniq.length <= 12) {
      return { labels: uniq.map(function (v) { return label(k, v); }),
               at: function (v) { return uniq.indexOf(v); } };
    }
    var lo = uniq[0], hi = uniq[uniq.length - 1], n = Math.max(1, Math.min(10, Math.round(Math.sqrt(ok.length))));
    var w = (hi - lo) / n || 1, labels = [];
    for (var i = 0; i < n; i++) labels.push(fmt(lo + (i + 0.5) * w));
    return { labels: labels, at: function (v) { return Math.min(n - 1, Math.floor((v - lo) / w)); } };
  }
  function drawHeat() {
    var kx = +el('qt-heat-x').value, ky = +el('qt-heat-y').value;
    var bx = bins(kx), by = bins(ky), cell = {}, lo = Infinity, hi = -Infinity;
    ok.forEach(function (r) {
      if (r[4 + kx] === null || r[4 + ky] === null) return;
      var key = bx.at(r[4 + kx]) + ',' + by.at(r[4 + ky]);
      if (!(key in cell) || better(r[1], cell[key])) cell[key] = r[1];
    });
    var data = Object.keys(cell).map(function (key) {
      var ij = key.split(','), v = cell[key];
      lo = Math.min(lo, v); hi = Math.max(hi, v);
      return [+ij[0], +ij[1], v];
    });
    if (!data.length) { lo = 0; hi = 1; }
    var opt = {
      tooltip: {}, grid: { bottom: 90 },
      xAxis: { type: 'category', name: P[kx].name, data: bx.labels },
      yAxis: { type: 'category', name: P[ky].name, data: by.labels },
      visualMap: { min: lo, max: hi === lo ? lo + 1 : hi, calculable: true, precision: 3, orient: 'horizontal',
                   left: 'center', bottom: 5, inRange: { color: D.maximize
                     ? ['#313695', '#74add1', '#ffffbf', '#f46d43', '#a50026']
                     : ['#a50026', '#f46d43', '#ffffbf', '#74add1', '#313695'] } },
      series: [{ type: 'heatmap', data: data, label: { show: false } }]
    };
    chart(el('qt-chart-heatmap'), opt);
  }
  heatDraw = drawHeat;
  if (np >= 2 && el('qt-heat-x').options.length) {
    drawHeat();
  } else if (np >= 2) {
    var byImp = P.map(function (p, k) { return k; });
    byImp.sort(function (a, b) { return D.importance[b] - D.importance[a] || a - b; });
    ['qt-heat-x', 'qt-heat-y'].forEach(function (id, j) {
      var s = el(id);
      P.forEach(function (p, k) {
        var o = document.createElement('option');
        o.value = String(k);
        o.textContent = p.name;
        s.appendChild(o);
      });
      s.value = String(byImp[j]);
      s.addEventListener('change', function () { heatDraw(); });
    });
    drawHeat();
  } else {
    chart(el('qt-chart-heatmap'), { title: { text: 'needs two parameters', left: 'center', top: 'middle' } });
  }

  /* parallel coordinates: every parameter, then the objective */
  var pax = P.map(function (p, k) {
    var a = { dim: k, name: p.name, type: p.log ? 'log' : 'value', scale: true };
    if (p.choices) { a.type = 'category'; a.data = p.choices.map(function (c, i) { return i; });
                     a.axisLabel = { formatter: function (v) { return label(k, +v); } }; }
    return a;
  });
  pax.push({ dim: np, name: obj, type: 'value', scale: true });
  var vmin = Infinity, vmax = -Infinity, ibest = -1;
  ok.forEach(function (r, i) {
    vmin = Math.min(vmin, r[1]); vmax = Math.max(vmax, r[1]);
    if (ibest < 0 || better(r[1], ok[ibest][1])) ibest = i;
  });
  /* a line per trial is SVG path each (no large mode for this series): past
   * D.parallel_max lines every stride-th is drawn, and the best; the color
   * scale keeps the range of all of them */
  var pmax = D.parallel_max || ok.length, pstride = Math.max(1, Math.ceil(ok.length / pmax));
  var prows = ok.filter(function (r, i) { return i % pstride === 0 || i === ibest; });
  el('qt-parallel-note').textContent = prows.length < ok.length
    ? 'Down-sampled for display: ' + prows.length + ' of the ' + ok.length + ' trials above drawn ' +
      '(every ' + pstride + '-th, and the best); the color scale spans them all.'
    : 'All ' + ok.length + ' trials above drawn.';
  if (!ok.length) { vmin = 0; vmax = 1; }
  chart(el('qt-chart-parallel'), {
    parallelAxis: pax, parallel: { left: 60, right: 140 },
    visualMap: { dimension: np, precision: 3, min: vmin, max: vmax === vmin ? vmin + 1 : vmax, right: 0,
                 top: 'middle', calculable: true, inRange: { color: ['#d94e5d', '#eac736', '#50a3ba'].reverse() } },
    series: [{ type: 'parallel', lineStyle: { width: 1, opacity: 0.5 },
               data: prows.map(function (r) { return r.slice(4).concat([r[1]]); }) }]
  });

  /* constraint violations */
  var C = D.constraints;
  el('qt-violations-note').textContent = C.length
    ? D.n_violated + ' of ' + D.n_complete + ' complete trials violated at least one constraint.'
    : 'The study has no constraints.';
  chart(el('qt-chart-violations'), {
    tooltip: {}, grid: { left: 180 },
    xAxis: { type: 'value', name: 'trials violating', minInterval: 1 },
    yAxis: { type: 'category', data: ['any constraint'].concat(C.map(function (c) { return c.label; })) },
    series: [{ type: 'bar', data: [D.n_violated].concat(C.map(function (c) { return c.count; })),
               label: { show: true, position: 'right' } }]
  });
  }
  var heatDraw = null; /* the heatmap of the latest data, for the selectors */
  window.qtReport = { render: render };
  render(JSON.parse(el('qt-data').textContent));
  /* ready once the browser has painted the charts (two frames); the time
   * from navigation start is what bench_dashboard reports */
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      document.body.dataset.qtReadyMs = String(Math.round(performance.now()));
      document.body.setAttribute('data-qt-ready', '1');
    });
  });
})();
