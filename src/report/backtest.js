/* qtune backtest report: draws the price with the trades, the equity and
 * the drawdown from the JSON in #qt-data with the embedded ECharts (canvas
 * renderer; the candles and the trade markers in large mode, one path per
 * series, which is what a 1000-trade price chart costs least with), and the
 * trade table a page of rows at a time
 * (a thousand rows laid out while the page opens cost more than the
 * charts).  Text goes in with textContent only. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('qt-data').textContent);
  function el(id) { return document.getElementById(id); }
  function chart(id, opt) {
    var c = echarts.init(el(id), null, { renderer: 'canvas' });
    opt.animation = false;
    c.setOption(opt);
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  function iso(ts) { return new Date(ts).toISOString().slice(0, 16).replace('T', ' '); }
  var C = D.candles, times = C.map(function (c) { return c[0]; });
  /* the candle holding time ts (the last one starting at or before it) */
  function at(ts) {
    var lo = 0, hi = times.length - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (times[mid] <= ts) lo = mid; else hi = mid - 1; }
    return lo;
  }
  var notes = [];
  if (D.bars_per_candle > 1 || D.n_equity_shown < D.n_bars) {
    notes.push('Down-sampled for display: ' + D.n_bars + ' bars drawn as ' + D.n_candles + ' candles (' +
               D.bars_per_candle + ' bars each: first open, highest high, lowest low, last close; about one ' +
               'candle per pixel of the chart), and the ' +
               'equity and drawdown as ' + D.n_equity_shown + ' points each (Largest-Triangle-Three-Buckets ' +
               'of every bar); the metrics and tables use every bar.');
  } else {
    notes.push('Every one of the ' + D.n_bars + ' bars is drawn.');
  }
  if (D.n_marked < D.n_trades)
    notes.push('The price chart marks ' + D.n_marked + ' of ' + D.n_trades + ' trades (evenly spaced).');
  el('qt-sampling-note').textContent = notes.join(' ');

  var zoom = [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 4 }];
  chart('qt-chart-price', {
    tooltip: { trigger: 'axis' },
    legend: { data: ['price', 'long entry', 'short entry', 'exit'].concat(D.lines.map(function (l) { return l.name; })) },
    grid: { left: 70, right: 30, bottom: 60 },
    xAxis: { type: 'category', data: times.map(iso), scale: true },
    yAxis: { type: 'value', scale: true, name: 'price' },
    dataZoom: zoom,
    series: [
      { name: 'price', type: 'candlestick', large: true, largeThreshold: 500,
        data: C.map(function (c) { return [c[1], c[2], c[3], c[4]]; }) },
      { name: 'long entry', type: 'scatter', large: true, largeThreshold: 200, symbol: 'triangle', symbolSize: 9, itemStyle: { color: '#1a9850' },
        data: D.entries.filter(function (e) { return e[2] === 1; }).map(function (e) { return [at(e[0]), e[1]]; }) },
      { name: 'short entry', type: 'scatter', large: true, largeThreshold: 200,
        symbol: 'diamond' /* a built-in: large mode hangs on a path:// symbol (ECharts 6.1) */, symbolSize: 9,
        itemStyle: { color: '#d73027' },
        data: D.entries.filter(function (e) { return e[2] !== 1; }).map(function (e) { return [at(e[0]), e[1]]; }) },
      { name: 'exit', type: 'scatter', large: true, largeThreshold: 200, symbol: 'circle', symbolSize: 6, itemStyle: { color: '#4575b4' },
        data: D.exits.map(function (e) { return [at(e[0]), e[1]]; }) }
    ].concat(D.lines.map(function (l) {
      /* the strategy's indicators: the value at each candle's last bar */
      return { name: l.name, type: 'line', showSymbol: false, lineStyle: { width: 1 }, data: l.data };
    }))
  });
  chart('qt-chart-equity', {
    tooltip: { trigger: 'axis' }, grid: { left: 70, right: 30, bottom: 60 },
    xAxis: { type: 'time' }, yAxis: { type: 'value', scale: true, name: 'equity' }, dataZoom: zoom,
    series: [{ name: 'equity', type: 'line', showSymbol: false, data: D.equity, lineStyle: { width: 1 } },
             { name: 'start cash', type: 'line', showSymbol: false, lineStyle: { type: 'dashed', width: 1 },
               data: D.equity.length ? [[D.equity[0][0], D.start_cash], [D.equity[D.equity.length - 1][0], D.start_cash]] : [] }]
  });
  chart('qt-chart-drawdown', {
    tooltip: { trigger: 'axis', valueFormatter: function (v) { return (v * 100).toFixed(2) + '%'; } },
    grid: { left: 70, right: 30, bottom: 60 },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', name: 'drawdown', max: 0,
             axisLabel: { formatter: function (v) { return (v * 100).toFixed(0) + '%'; } } },
    dataZoom: zoom,
    series: [{ name: 'drawdown', type: 'line', showSymbol: false, data: D.drawdown, areaStyle: { opacity: 0.3 },
               lineStyle: { width: 1 }, itemStyle: { color: '#d73027' } }]
  });
  /* the trade table, PAGE rows at a time */
  var PAGE = 100, T = D.trades, first = 0;
  function g6(v) { return v === null ? '-' : String(+v.toPrecision(6)); }
  function f2(v) { return v === null ? '-' : v.toFixed(2); }
  function isoS(ts) { return new Date(ts).toISOString().replace('.000Z', 'Z'); }
  function tradesPage(from) {
    var t = el('qt-trades');
    while (t.rows.length > 1) t.deleteRow(1);
    first = Math.max(0, Math.min(from, T.length - 1));
    for (var i = first; i < T.length && i < first + PAGE; i++) {
      var x = T[i], tr = t.insertRow();
      [String(x[0]), x[1] === 1 ? 'long' : 'short', isoS(x[2]), isoS(x[3]), g6(x[4]), g6(x[5]),
       g6(x[6]), f2(x[7]), f2(x[8]), String(x[9]), x[10]].forEach(function (v) { tr.insertCell().textContent = v; });
    }
    var pg = el('qt-trades-pager');
    while (pg.firstChild) pg.removeChild(pg.firstChild);
    function btn(label, to, off) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.disabled = off;
      b.addEventListener('click', function () { tradesPage(to); });
      pg.appendChild(b);
    }
    btn('first', 0, first === 0);
    btn('previous', first - PAGE, first === 0);
    btn('next', first + PAGE, first + PAGE >= T.length);
    btn('last', Math.floor((T.length - 1) / PAGE) * PAGE, first + PAGE >= T.length);
    var s = document.createElement('span');
    s.id = 'qt-trades-rows';
    s.textContent = T.length ? 'rows ' + (first + 1) + '-' + Math.min(first + PAGE, T.length) + ' of ' + T.length
                             : 'no trades';
    pg.appendChild(s);
  }
  tradesPage(0);

  /* ready once the browser has painted the charts (two frames) */
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      document.body.dataset.qtReadyMs = String(Math.round(performance.now()));
      document.body.setAttribute('data-qt-ready', '1');
    });
  });
})();
