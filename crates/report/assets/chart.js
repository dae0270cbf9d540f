// ddlab's report charts: small multiples of curves against width, drawn as SVG from the JSON the page
// carries (no network, no library). Each panel shows, per condition, the mean over replicates as a line
// with points, its 95% interval as a band, and the peak and interpolation threshold as vertical lines.
// Hovering a point shows its value, interval and every replicate's value; conditions and panels can be
// toggled; either axis can be logarithmic. Written by hand: see crates/report/src/chart.rs for why.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
  var MARGIN = { left: 64, right: 16, top: 20, bottom: 8 };
  var AXIS = 34;

  // Three significant digits, plain for moderate magnitudes: the tables' format (`num` in
  // crates/report/src/markdown.rs).
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return '-';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a < 1e-3 || a >= 1e5) return v.toExponential(2).replace('e+', 'e');
    var decimals = Math.max(0, Math.min(6, 2 - Math.floor(Math.log10(a))));
    return v.toFixed(decimals);
  }

  // Tick labels: integers as integers, others without trailing zeros.
  function tickText(v) {
    if (Math.abs(v - Math.round(v)) < 1e-9 && Math.abs(v) < 1e6) return String(Math.round(v));
    var s = fmt(v);
    return s.indexOf('e') < 0 && s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function ticks(lo, hi, log, count) {
    var out = [];
    if (log) {
      var a = Math.floor(lo), b = Math.ceil(hi);
      var step = Math.max(1, Math.ceil((b - a) / count));
      for (var e = a; e <= b; e += step) if (e >= lo - 1e-9 && e <= hi + 1e-9) out.push(e);
      // Less than a decade: nice values of the range itself, at their logarithms.
      if (out.length < 2) {
        return ticks(Math.pow(10, lo), Math.pow(10, hi), false, count)
          .filter(function (v) { return v > 0; })
          .map(function (v) { return Math.log10(v); });
      }
      return out;
    }
    var span = hi - lo || 1;
    var raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var nice = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    for (var i = Math.ceil(lo / nice); i * nice <= hi + nice * 1e-9 && out.length < 50; i++) {
      var t = i * nice;
      out.push(Math.abs(t) < nice * 1e-9 ? 0 : t);
    }
    return out;
  }

  function Chart(root) {
    this.root = root;
    this.spec = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
    this.shown = { conditions: this.spec.conditions.map(function () { return true; }), panels: {} };
    var self = this;
    this.spec.panels.forEach(function (p) { self.shown.panels[p.id] = p.shown !== false; });
    this.xlog = true;
    this.ylog = false;
    this.controls();
    this.host = document.createElement('div');
    this.host.className = 'chart-host';
    root.appendChild(this.host);
    this.tip = document.getElementById('ddlab-tooltip');
    this.draw();
    window.addEventListener('resize', function () { self.draw(); });
  }

  Chart.prototype.controls = function () {
    var self = this, bar = document.createElement('div');
    bar.className = 'chart-controls';
    function box(label, checked, onchange, cls) {
      var l = document.createElement('label');
      if (cls) l.className = cls;
      var i = document.createElement('input');
      i.type = 'checkbox';
      i.checked = checked;
      i.addEventListener('change', function () { onchange(i.checked); self.draw(); });
      l.appendChild(i);
      l.appendChild(document.createTextNode(' ' + label));
      bar.appendChild(l);
      return l;
    }
    if (this.spec.conditions.length > 1) {
      this.spec.conditions.forEach(function (c, i) {
        var l = box(c.label, true, function (on) { self.shown.conditions[i] = on; }, 'toggle-condition');
        l.style.color = COLORS[i % COLORS.length];
      });
      bar.appendChild(document.createTextNode(' | '));
    }
    if (this.spec.panels.length > 1) {
      this.spec.panels.forEach(function (p) {
        box(p.title, self.shown.panels[p.id], function (on) { self.shown.panels[p.id] = on; }, 'toggle-panel');
      });
      bar.appendChild(document.createTextNode(' | '));
    }
    box('log width', true, function (on) { self.xlog = on; }, 'toggle-xlog');
    box('log values', false, function (on) { self.ylog = on; }, 'toggle-ylog');
    this.root.appendChild(bar);
  };

  Chart.prototype.visibleSeries = function (panel) {
    var self = this;
    return panel.series.filter(function (s) { return self.shown.conditions[s.condition]; });
  };

  Chart.prototype.draw = function () {
    var self = this, spec = this.spec;
    this.host.innerHTML = '';
    var panels = spec.panels.filter(function (p) { return self.shown.panels[p.id]; });
    if (!panels.length) return;
    var width = Math.max(320, this.host.clientWidth || this.root.clientWidth || 800);
    var ph = spec.panel_height || 170;
    var height = panels.length * ph + AXIS;
    var svg = el('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, class: 'chart-svg' }, this.host);
    var x0 = MARGIN.left, x1 = width - MARGIN.right;
    // One width axis for every panel: all widths of the shown conditions.
    var widths = [];
    spec.panels.forEach(function (p) {
      self.visibleSeries(p).forEach(function (s) { s.points.forEach(function (q) { widths.push(q.w); }); });
    });
    if (!widths.length) return;
    var tx = function (w) { return self.xlog ? Math.log2(w) : w; };
    var wlo = Math.min.apply(null, widths.map(tx)), whi = Math.max.apply(null, widths.map(tx));
    if (whi - wlo < 1e-9) { wlo -= 0.5; whi += 0.5; }
    var pad = (whi - wlo) * 0.03;
    wlo -= pad; whi += pad;
    var sx = function (w) { return x0 + (tx(w) - wlo) / (whi - wlo) * (x1 - x0); };
    this.sx = sx;
    this.crosshairs = [];
    panels.forEach(function (panel, pi) {
      var top = pi * ph + MARGIN.top, bottom = (pi + 1) * ph - MARGIN.bottom;
      var series = self.visibleSeries(panel);
      var all = [];
      series.forEach(function (s) {
        s.points.forEach(function (q) { [q.m, q.lo, q.hi].forEach(function (v) { if (v !== null && isFinite(v)) all.push(v); }); });
      });
      // A log value axis shows the positive values (points and band edges <= 0 are left out, and the
      // title says so); a panel with no positive value stays linear.
      var positive = all.filter(function (v) { return v > 0; });
      var ylog = self.ylog && positive.length > 0;
      var vals = ylog ? positive : all;
      var ty = function (v) { return ylog ? Math.log10(v) : v; };
      var ylo = vals.length ? Math.min.apply(null, vals.map(ty)) : 0, yhi = vals.length ? Math.max.apply(null, vals.map(ty)) : 1;
      if (yhi - ylo <= 1e-9 * Math.max(Math.abs(ylo), Math.abs(yhi), 1e-300)) {
        var half = Math.max(Math.abs(ylo) * 0.1, 0.5 * (ylog ? 1 : Math.min(1, Math.abs(ylo) || 1)));
        ylo -= half; yhi += half;
      }
      var ypad = (yhi - ylo) * 0.06;
      ylo -= ypad; yhi += ypad;
      var sy = function (v) { return bottom - (ty(v) - ylo) / (yhi - ylo) * (bottom - top); };
      var g = el('g', { class: 'panel', 'data-panel': panel.id, 'data-ylog': ylog ? '1' : '0' }, svg);
      el('rect', { x: x0, y: top, width: x1 - x0, height: bottom - top, fill: '#fff', stroke: '#bbb' }, g);
      var title = el('text', { x: x0 + 4, y: top - 5, class: 'panel-title' }, g);
      title.textContent = panel.title + (panel.unit ? ' (' + panel.unit + ')' : '') +
        (self.ylog && !ylog ? ' [linear: no positive value]' : '') +
        (ylog && positive.length < all.length ? ' [log: values <= 0 not drawn]' : '');
      ticks(ylo, yhi, ylog, 4).forEach(function (t) {
        var y = ylog ? bottom - (t - ylo) / (yhi - ylo) * (bottom - top) : sy(t);
        el('line', { x1: x0, x2: x1, y1: y, y2: y, stroke: '#eee' }, g);
        var lab = el('text', { x: x0 - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, g);
        lab.textContent = tickText(ylog ? Math.pow(10, t) : t);
      });
      ticks(wlo, whi, self.xlog, 10).forEach(function (t) {
        var w = self.xlog ? Math.pow(2, t) : t;
        if (w <= 0 && self.xlog) return;
        var x = x0 + (t - wlo) / (whi - wlo) * (x1 - x0);
        el('line', { x1: x, x2: x, y1: top, y2: bottom, stroke: '#f2f2f2' }, g);
        if (pi === panels.length - 1) {
          var lab = el('text', { x: x, y: bottom + 16, 'text-anchor': 'middle', class: 'tick' }, g);
          lab.textContent = tickText(w);
        }
      });
      if (!vals.length) {
        el('text', { x: (x0 + x1) / 2, y: (top + bottom) / 2, 'text-anchor': 'middle', class: 'empty' }, g).textContent =
          'no defined values for the shown conditions';
      }
      // The peak (dashed; a candidate the test did not find: dash-dot) and the interpolation threshold
      // (dotted) of each shown condition, in its colour.
      spec.conditions.forEach(function (c, ci) {
        if (!self.shown.conditions[ci]) return;
        var colour = COLORS[ci % COLORS.length];
        [['peak', c.peak, c.peak_detected ? '6 3' : '8 3 2 3'], ['interpolation threshold', c.interp, '2 3']].forEach(function (m) {
          if (m[1] === null || m[1] === undefined) return;
          var x = sx(m[1]);
          el('line', { x1: x, x2: x, y1: top, y2: bottom, stroke: colour, 'stroke-dasharray': m[2], class: 'marker', 'data-marker': m[0] }, g);
          if (pi === 0) {
            var lab = el('text', { x: x + 3, y: top + 12 + 12 * (2 * ci + (m[0] === 'peak' ? 0 : 1)), class: 'marker-label', fill: colour }, g);
            lab.textContent = m[0] === 'peak' ? (c.peak_detected ? 'peak ' : 'candidate peak (not significant) ') + m[1] : 'interp. ' + m[1];
          }
        });
      });
      series.forEach(function (s) {
        var colour = COLORS[s.condition % COLORS.length];
        var pts = s.points.filter(function (q) { return q.m !== null && isFinite(q.m) && (!ylog || q.m > 0); });
        var band = pts.filter(function (q) { return q.lo !== null && q.hi !== null && isFinite(q.lo) && isFinite(q.hi) && (!ylog || q.lo > 0); });
        // On a log axis a band is drawn only where its whole interval is positive.
        if (band.length > 1 && !s.dashed) {
          var d = band.map(function (q, i) { return (i ? 'L' : 'M') + sx(q.w) + ' ' + sy(q.hi); }).join(' ') + ' ' +
            band.slice().reverse().map(function (q) { return 'L' + sx(q.w) + ' ' + sy(q.lo); }).join(' ') + ' Z';
          el('path', { d: d, fill: colour, 'fill-opacity': 0.15, stroke: 'none', class: 'band' }, g);
        }
        if (pts.length > 1) {
          el('path', {
            d: pts.map(function (q, i) { return (i ? 'L' : 'M') + sx(q.w) + ' ' + sy(q.m); }).join(' '),
            fill: 'none', stroke: colour, 'stroke-width': s.dashed ? 1.2 : 2, 'stroke-dasharray': s.dashed ? '5 4' : 'none',
          }, g);
        }
        pts.forEach(function (q) {
          var c = el('circle', {
            cx: sx(q.w), cy: sy(q.m), r: s.dashed ? 2.5 : 3.5, fill: s.dashed ? '#fff' : colour, stroke: colour,
            class: 'point', 'data-series': s.id, 'data-condition': s.condition, 'data-w': q.w,
          }, g);
          c.__point = { panel: panel, series: s, q: q };
        });
      });
      var cross = el('line', { x1: -10, x2: -10, y1: top, y2: bottom, stroke: '#999', 'stroke-width': 1, class: 'crosshair' }, g);
      self.crosshairs.push(cross);
    });
    el('text', { x: (x0 + x1) / 2, y: height - 4, 'text-anchor': 'middle', class: 'axis-label' }, svg).textContent =
      (spec.x_label || 'width (hidden units)') + (self.xlog ? ', log scale' : '');
    svg.addEventListener('mousemove', function (ev) { self.hover(ev, svg); });
    svg.addEventListener('mouseleave', function () { self.unhover(); });
  };

  // The point nearest the pointer in the panel under it (by width first, then by value), its value,
  // interval and replicates in the tooltip, and a crosshair at its width in every panel.
  Chart.prototype.hover = function (ev, svg) {
    var box = svg.getBoundingClientRect(), mx = ev.clientX - box.left, my = ev.clientY - box.top;
    var best = null, bestD = Infinity;
    svg.querySelectorAll('circle.point').forEach(function (c) {
      var dx = +c.getAttribute('cx') - mx, dy = +c.getAttribute('cy') - my;
      var d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = c; }
    });
    if (!best || bestD > 40 * 40) { this.unhover(); return; }
    var p = best.__point, q = p.q, cond = this.spec.conditions[p.series.condition];
    var x = +best.getAttribute('cx');
    this.crosshairs.forEach(function (l) { l.setAttribute('x1', x); l.setAttribute('x2', x); });
    var lines = [];
    lines.push('<b>' + esc(p.series.name) + '</b>' + (this.spec.conditions.length > 1 ? ' · ' + esc(cond.label) : ''));
    lines.push('width ' + q.w);
    // The numbers as the tables print them (formatted by the report, `num`), not re-rounded here.
    lines.push('<span class="tip-value">' + esc(q.t[0]) + '</span>' + (q.lo !== null && isFinite(q.lo) ?
      ' [' + esc(q.t[1]) + ', ' + esc(q.t[2]) + '] (' + esc(this.spec.interval || '95% t interval') + ', n = ' + q.n + ')' : ' (n = ' + q.n + ')'));
    if (q.v && q.v.length) {
      lines.push('<span class="tip-seeds">' + q.v.map(function (r) {
        return (r[0] === null ? 'ensemble' : 'seed ' + esc(r[0])) + ': ' + esc(r[2]);
      }).join(', ') + '</span>');
    }
    this.tip.innerHTML = lines.join('<br>');
    this.tip.style.display = 'block';
    var tw = this.tip.offsetWidth;
    var left = ev.pageX + 14;
    if (left + tw > document.documentElement.scrollWidth - 8) left = ev.pageX - tw - 14;
    this.tip.style.left = left + 'px';
    this.tip.style.top = (ev.pageY + 14) + 'px';
    svg.querySelectorAll('circle.point.hover').forEach(function (c) { c.classList.remove('hover'); });
    best.classList.add('hover');
  };

  Chart.prototype.unhover = function () {
    this.tip.style.display = 'none';
    (this.crosshairs || []).forEach(function (l) { l.setAttribute('x1', -10); l.setAttribute('x2', -10); });
  };

  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  // Sortable tables: a click on a header sorts by that column (numbers as numbers), again to reverse.
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var dir = th.getAttribute('data-sort') === 'asc' ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('data-sort'); });
        th.setAttribute('data-sort', dir === 1 ? 'asc' : 'desc');
        var key = function (r) { var t = r.cells[col] ? r.cells[col].textContent : ''; var n = parseFloat(t); return isNaN(n) || !/^\s*[-+]?[0-9.]/.test(t) ? t : n; };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (typeof x === 'number' && typeof y === 'number') return dir * (x - y);
          return dir * String(x).localeCompare(String(y));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // A forest plot: one row per setting (a condition; a sweep of a study), its estimate with its 95%
  // interval, and reference values as vertical lines; hovering a row shows its numbers.
  function Forest(root, spec) {
    this.root = root;
    this.spec = spec;
    this.host = document.createElement('div');
    root.appendChild(this.host);
    this.tip = document.getElementById('ddlab-tooltip');
    var self = this;
    this.draw();
    window.addEventListener('resize', function () { self.draw(); });
  }

  Forest.prototype.draw = function () {
    var spec = this.spec, self = this, rowH = 24, labelW = 240, top = 24, axis = 30;
    this.host.innerHTML = '';
    var width = Math.max(360, this.host.clientWidth || this.root.clientWidth || 700);
    var height = top + spec.rows.length * rowH + axis;
    var svg = el('svg', { width: width, height: height, class: 'chart-svg forest' }, this.host);
    var x0 = labelW, x1 = width - 16;
    var vals = [];
    spec.rows.forEach(function (r) { [r.est, r.lo, r.hi].forEach(function (v) { if (v !== null && isFinite(v)) vals.push(v); }); });
    spec.refs.forEach(function (r) { vals.push(r[0]); });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
    var pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;
    var sx = function (v) { return x0 + (v - lo) / (hi - lo) * (x1 - x0); };
    el('text', { x: 4, y: 14, class: 'panel-title' }, svg).textContent = spec.title + (spec.unit ? ' (' + spec.unit + ')' : '');
    ticks(lo, hi, false, 6).forEach(function (t) {
      el('line', { x1: sx(t), x2: sx(t), y1: top - 4, y2: height - axis, stroke: '#eee' }, svg);
      el('text', { x: sx(t), y: height - axis + 14, 'text-anchor': 'middle', class: 'tick' }, svg).textContent = tickText(t);
    });
    spec.refs.forEach(function (r) {
      el('line', { x1: sx(r[0]), x2: sx(r[0]), y1: top - 4, y2: height - axis, stroke: '#888', 'stroke-dasharray': '4 3' }, svg);
      el('text', { x: sx(r[0]) + 3, y: height - 4, class: 'marker-label', fill: '#555' }, svg).textContent = r[1];
    });
    spec.rows.forEach(function (r, i) {
      var y = top + i * rowH + rowH / 2;
      el('text', { x: x0 - 8, y: y + 4, 'text-anchor': 'end', class: 'tick' }, svg).textContent = r.label;
      if (r.lo !== null && r.hi !== null && isFinite(r.lo) && isFinite(r.hi)) {
        el('line', { x1: sx(r.lo), x2: sx(r.hi), y1: y, y2: y, stroke: '#333', 'stroke-width': 1.5 }, svg);
      }
      if (r.est !== null && isFinite(r.est)) {
        var c = el('rect', { x: sx(r.est) - 4, y: y - 4, width: 8, height: 8, class: 'point o-' + r.outcome.replace(' ', '-'), 'data-row': i }, svg);
        c.__row = r;
      }
    });
    svg.addEventListener('mousemove', function (ev) {
      var t = ev.target.__row;
      if (!t) { self.tip.style.display = 'none'; return; }
      self.tip.innerHTML = '<b>' + esc(t.label) + '</b><br><span class="tip-value">' + fmt(t.est) + '</span>' +
        (t.lo !== null ? ' [' + fmt(t.lo) + ', ' + fmt(t.hi) + '] (95% interval)' : '') + '<br>' + esc(t.outcome);
      self.tip.style.display = 'block';
      self.tip.style.left = (ev.pageX + 14) + 'px';
      self.tip.style.top = (ev.pageY + 14) + 'px';
    });
    svg.addEventListener('mouseleave', function () { self.tip.style.display = 'none'; });
  };

  function make(root) {
    var spec = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
    return spec.kind === 'forest' ? new Forest(root, spec) : new Chart(root);
  }

  function start() {
    document.querySelectorAll('.chart').forEach(function (root) {
      // A chart inside a closed <details> is drawn when it opens (it has no width before).
      var details = root.closest('details');
      if (details && !details.open) {
        details.addEventListener('toggle', function once() {
          if (details.open && !root.__chart) root.__chart = make(root);
        });
      } else {
        root.__chart = make(root);
      }
    });
    document.querySelectorAll('table.sortable').forEach(sortable);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
