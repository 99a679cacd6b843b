// Stepline console: tabs, state selection, event filters, the Start execution form's check
// and, while an execution runs, its live stream. No framework, no build step.
(function () {
  'use strict';
  var LOOK = {
    SUCCEEDED: ['✓', 'Succeeded'], FAILED: ['✗', 'Failed'], CAUGHT_ERROR: ['!', 'Caught error'],
    RUNNING: ['⟳', 'In progress'], NOT_STARTED: ['○', 'Not started'], ABORTED: ['■', 'Aborted']
  };
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function nodeOf(name) { return $('.node[data-state="' + CSS.escape(name) + '"]'); }

  // The Start execution form: the input must be JSON before it is sent.
  var form = $('#start-form');
  if (form) {
    form.addEventListener('submit', function (ev) {
      var input = $('#start-input'), err = $('#start-error'), text = input.value.trim() || '{}';
      try { JSON.parse(text); } catch (e) {
        ev.preventDefault();
        input.setAttribute('aria-invalid', 'true');
        err.textContent = 'The input is not valid JSON: ' + e.message;
        input.focus();
        return;
      }
      input.removeAttribute('aria-invalid');
      err.textContent = '';
    });
  }

  var root = $('#execution');
  if (!root) return;

  // Tabs, with the arrow keys as the ARIA tabs pattern has them; the view is kept in the hash.
  var tabs = $$('[role=tab]');
  function show(id, focus) {
    tabs.forEach(function (t) {
      var on = t.id === id;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
      if (on && focus) t.focus();
    });
    if (history.replaceState) history.replaceState(null, '', '#' + id.replace('tab-', ''));
  }
  tabs.forEach(function (t, i) {
    t.addEventListener('click', function () { show(t.id); });
    t.addEventListener('keydown', function (ev) {
      var d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (d) { ev.preventDefault(); show(tabs[(i + d + tabs.length) % tabs.length].id, true); }
    });
  });
  if (location.hash && document.getElementById('tab-' + location.hash.slice(1))) show('tab-' + location.hash.slice(1));

  // State details.
  var states = {};
  try { states = JSON.parse($('#states-data').textContent) || {}; } catch (e) { states = {}; }
  var selected = null;
  function field(parent, label, value, pre) {
    if (value == null || value === '') return;
    if (pre) {
      var d = el('details'); d.open = label !== 'Input';
      d.appendChild(el('summary', {}, label));
      d.appendChild(el('pre', { 'class': 'json' }, pretty(value)));
      parent.appendChild(d);
    } else {
      var p = el('p'); p.appendChild(el('strong', {}, label + ': ')); p.appendChild(document.createTextNode(value));
      parent.appendChild(p);
    }
  }
  function link(parent, label, text, href, what) {
    var p = el('p'); p.appendChild(el('strong', {}, label + ': '));
    p.appendChild(el('a', { href: href }, text));
    p.appendChild(document.createTextNode(' (' + what + ')'));
    parent.appendChild(p);
  }
  function pretty(s) { try { return JSON.stringify(JSON.parse(s), null, 2); } catch (e) { return s; } }
  var shown = null;
  function renderDetail() {
    var box = $('#detail');
    if (!box || selected == null) return;
    var s = states[selected] || { visits: [] }, look = LOOK[s.status] || ['', ''];
    // A live update that changed nothing of this state leaves the panel (and what the
    // reader opened in it) as it is.
    var key = selected + '\n' + JSON.stringify(s);
    if (key === shown) return;
    shown = key;
    box.textContent = '';
    box.appendChild(el('h2', {}, selected));
    var p = el('p');
    p.appendChild(el('span', { 'class': 'st st-' + (s.status || '').toLowerCase() }, look[0] + ' ' + look[1]));
    p.appendChild(document.createTextNode(' ' + (s.type || '')));
    box.appendChild(p);
    field(box, 'Resource', s.resource);
    if (!s.visits || !s.visits.length) { box.appendChild(el('p', { 'class': 'hint' }, 'Not entered in this execution.')); return; }
    if (s.more) box.appendChild(el('p', { 'class': 'hint' }, s.more + ' earlier visits not shown (see the Table view).'));
    s.visits.slice().reverse().forEach(function (v, i) {
      var sec = el('section', { 'class': 'visit' });
      if (s.visits.length > 1) sec.appendChild(el('h3', {}, 'Visit ' + (s.visits.length - i + (s.more || 0))));
      field(sec, 'Status', (LOOK[v.status] || ['', v.status])[1]);
      field(sec, 'Entered', v.start);
      field(sec, 'Exited', v.end);
      field(sec, 'Duration', v.duration);
      if (v.retries) field(sec, 'Retries', String(v.retries));
      if (v.function) link(sec, 'Function', v.function, '/functions/' + encodeURIComponent(v.function), 'configuration and logs');
      if (v.function && v.requestId) link(sec, 'Invocation', v.requestId, '/functions/' + encodeURIComponent(v.function) + '?request=' + encodeURIComponent(v.requestId), 'its log lines');
      if (v.job) link(sec, 'Glue job', v.job, '/catalog#job-' + encodeURIComponent(v.job), 'runs');
      if (v.job && v.jobRun) link(sec, 'Job run', v.jobRun, '/catalog/jobs/' + encodeURIComponent(v.job) + '/runs/' + encodeURIComponent(v.jobRun), 'its logs');
      field(sec, 'Error', v.error);
      field(sec, 'Cause', v.cause, true);
      field(sec, 'Input', v.input, true);
      field(sec, 'Output', v.output, true);
      box.appendChild(sec);
    });
  }
  function select(name) {
    $$('.node.selected').forEach(function (n) { n.classList.remove('selected'); n.removeAttribute('aria-pressed'); });
    selected = name;
    var n = nodeOf(name);
    if (n) { n.classList.add('selected'); n.setAttribute('aria-pressed', 'true'); }
    renderDetail();
  }
  var graph = $('#graph');
  if (graph) {
    graph.addEventListener('click', function (ev) {
      var n = ev.target.closest('.node');
      if (n) select(n.getAttribute('data-state'));
    });
    graph.addEventListener('keydown', function (ev) {
      var n = ev.target.closest && ev.target.closest('.node');
      if (!n) return;
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(n.getAttribute('data-state')); return; }
      // Arrow keys walk the states in definition order (nested ones after their group).
      var d = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[ev.key];
      if (!d) return;
      var all = $$('.node', graph), next = all[all.indexOf(n) + d];
      if (next) { ev.preventDefault(); next.focus(); }
    });
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('[data-select]');
    if (!b) return;
    show('tab-graph');
    select(b.getAttribute('data-select'));
    var n = nodeOf(b.getAttribute('data-select'));
    if (n) { n.focus(); if (n.scrollIntoView) n.scrollIntoView({ block: 'center', inline: 'center' }); }
  });

  // Zoom: the graph is drawn at its natural size; Fit scales it to the width available.
  var svg = $('#graph svg'), scale = 1;
  if (svg) {
    var w0 = +svg.getAttribute('width'), h0 = +svg.getAttribute('height');
    var zoom = function (z) {
      if (z === 0) scale = Math.min(1, (graph.clientWidth - 4) / w0);
      else scale = Math.max(0.2, Math.min(3, scale * (z > 0 ? 1.25 : 0.8)));
      svg.setAttribute('width', Math.round(w0 * scale));
      svg.setAttribute('height', Math.round(h0 * scale));
    };
    $$('[data-zoom]').forEach(function (b) { b.addEventListener('click', function () { zoom(+b.getAttribute('data-zoom')); }); });
    if (w0 > graph.clientWidth && graph.clientWidth > 0) zoom(0);
  }

  // Events: filter by type and text.
  var typeSel = $('#event-type'), text = $('#event-text');
  function filter(rows) {
    var t = typeSel.value, q = text.value.trim().toLowerCase();
    (Array.isArray(rows) ? rows : $$('#events tr')).forEach(function (r) {
      var ok = (!t || r.getAttribute('data-event-type') === t) && (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
    });
  }
  typeSel.addEventListener('change', filter);
  text.addEventListener('input', filter);
  var expanded = false;
  $('#expand-all').addEventListener('click', function (ev) {
    expanded = !expanded;
    $$('#events details').forEach(function (d) { d.open = expanded; });
    ev.target.textContent = expanded ? 'Collapse all' : 'Expand all';
  });

  // Live: only while the execution runs; a finished execution's page asks for nothing more.
  if (root.getAttribute('data-live') !== 'true' || !window.EventSource) return;
  var es = new EventSource('/executions/' + encodeURIComponent(root.getAttribute('data-arn')) + '/live?after=' + root.getAttribute('data-last'));
  es.onmessage = function (m) {
    var u = JSON.parse(m.data);
    Object.keys(u.statuses || {}).forEach(function (name) {
      var n = nodeOf(name), st = u.statuses[name], look = LOOK[st] || ['', ''];
      if (!n || n.getAttribute('data-status') === st) return;
      n.setAttribute('data-status', st);
      var icon = $(':scope > .icon', n), kind = $(':scope > .kind', n), type = n.getAttribute('data-type');
      if (icon) icon.textContent = look[0];
      if (kind) kind.textContent = type + ' · ' + look[1];
      n.setAttribute('aria-label', name + ', ' + type + ', ' + look[1]);
      var title = $(':scope > title', n);
      if (title) title.textContent = name + ', ' + type + ', ' + look[1];
    });
    Object.keys(u.states || {}).forEach(function (k) { states[k] = u.states[k]; });
    $('#summary').innerHTML = u.summary;
    if (u.io) $('#io').innerHTML = u.io;
    // Rows: the changed ones replace theirs, new ones are appended; the span moves the bars.
    var rows = $('#rows'), tmp = document.createElement('tbody');
    tmp.innerHTML = u.rows;
    $$('tr', tmp).forEach(function (r) {
      var old = $('tr[data-row-index="' + r.getAttribute('data-row-index') + '"]', rows);
      if (old) old.replaceWith(r); else rows.appendChild(r);
    });
    rows.style.setProperty('--span', u.span);
    var events = $('#events'), before = events.rows.length;
    if (u.events) events.insertAdjacentHTML('beforeend', u.events);
    $('#event-count').textContent = events.rows.length;
    var have = {};
    $$('option', typeSel).forEach(function (o) { have[o.value] = true; });
    (u.eventTypes || []).forEach(function (t) { if (!have[t]) typeSel.appendChild(el('option', {}, t)); });
    if (typeSel.value || text.value) filter(Array.prototype.slice.call(events.rows, before));
    renderDetail();
    root.setAttribute('data-last', u.last);
    if (u.done) { es.close(); root.setAttribute('data-live', 'false'); }
  };
})();
