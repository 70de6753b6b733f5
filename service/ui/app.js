/*
 * app.js - the analyst's page over the JSON API (docs/http-api.md).
 * Everything that comes from the database is put in the page as text
 * (textContent, never innerHTML); the CSP forbids inline script anyway.
 */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'infrapivot.token';
  const EDGE_KINDS = ['resolves', 'cname', 'serves', 'san', 'sni', 'key', 'subject', 'fingerprint'];

  /* ---- small helpers ---------------------------------------------------- */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function status(msg, isError) {
    const s = $('status');
    s.textContent = msg;
    s.className = isError ? 'error' : '';
  }
  /* UTC ISO 8601 for epoch seconds or an ISO string; '' for null */
  function iso(t) {
    if (t == null || t === '') return '';
    if (typeof t === 'number') return new Date(t * 1000).toISOString().replace('.000Z', 'Z');
    return String(t);
  }
  function day(t) { return iso(t).slice(0, 10); }
  function shortHash(h) { return h.length > 16 ? h.slice(0, 12) + '…' : h; }
  function detectKind(v) {
    const h = v.replace(/:/g, '');
    if (/^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(h)) return 'cert';
    if (/^[0-9a-fA-F]{62}$/.test(h)) return 'jarm';
    if (/^[0-9a-fA-F]{32}$/.test(h)) return 'ja3s';
    if (/^[0-9.]+(\/\d+)?$/.test(v) || (v.includes(':') && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(v))) return 'ip';
    return 'domain';
  }

  /* ---- the API, with the token when the server wants one ----------------- */
  let tokenWaiters = null;
  function askToken(msg) {
    if (!tokenWaiters) {
      tokenWaiters = [];
      $('tokenError').textContent = msg || '';
      $('token').value = '';
      $('tokenDialog').showModal();
      $('token').focus();
    }
    return new Promise((resolve) => tokenWaiters.push(resolve));
  }
  $('tokenForm').addEventListener('submit', () => {
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('logout').hidden = false;
    const w = tokenWaiters || [];
    tokenWaiters = null;
    w.forEach((r) => r());
  });
  $('tokenDialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('logout').hidden = true;
    status('token forgotten');
  });

  /* fetch an API path; a 401 asks for a token and tries again */
  async function api(path, opts, raw) {
    for (;;) {
      const o = Object.assign({ headers: {} }, opts || {});
      o.headers = Object.assign({}, o.headers);
      const tok = sessionStorage.getItem(TOKEN_KEY);
      if (tok) o.headers.Authorization = 'Bearer ' + tok;
      o.credentials = 'omit';
      const r = await fetch(path, o);
      if (r.status === 401) {
        await askToken(tok ? 'That token was refused.' : '');
        continue;
      }
      if (raw && r.ok) return r;
      const body = await r.text();
      let j = null;
      try { j = body ? JSON.parse(body) : null; } catch (e) { j = null; }
      if (!r.ok) {
        const m = j && j.error ? j.error.message : body.slice(0, 200);
        const err = new Error(r.status + ': ' + m);
        err.status = r.status;
        throw err;
      }
      return j;
    }
  }
  const enc = encodeURIComponent;

  /* ---- sortable tables --------------------------------------------------- */
  /* cols: [{key, label, num, render(row) -> Node|string}] */
  function table(cols, rows, caption) {
    const t = el('table', {});
    if (caption) t.append(el('caption', { text: caption }));
    const tbody = el('tbody', {});
    const trh = el('tr', {});
    let sortKey = null, asc = true;
    const fill = () => {
      clear(tbody);
      const rs = rows.slice();
      if (sortKey) {
        const c = cols.find((x) => x.key === sortKey);
        const val = (r) => (c.sort ? c.sort(r) : r[c.key]);
        rs.sort((a, b) => {
          const x = val(a), y = val(b);
          const d = x == null ? -1 : y == null ? 1 : x < y ? -1 : x > y ? 1 : 0;
          return asc ? d : -d;
        });
      }
      for (const r of rs) {
        const tr = el('tr', {});
        for (const c of cols) {
          const v = c.render ? c.render(r) : r[c.key];
          tr.append(el('td', c.num ? { class: 'num' } : {}, v == null ? '' : v));
        }
        tbody.append(tr);
      }
    };
    for (const c of cols) {
      const th = el('th', { scope: 'col', 'aria-sort': 'none' });
      th.append(el('button', { type: 'button', text: c.label, onclick: () => {
        asc = sortKey === c.key ? !asc : true;
        sortKey = c.key;
        trh.querySelectorAll('th').forEach((h) => h.setAttribute('aria-sort', 'none'));
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        fill();
      } }));
      trh.append(th);
    }
    t.append(el('thead', {}, trh), tbody);
    fill();
    return t;
  }
  /* a value that searches itself when chosen */
  function pivotLink(v) {
    return el('button', { type: 'button', class: 'link', text: v, title: 'pivot from ' + v,
      onclick: () => search(v) });
  }
  const timeCols = [
    { key: 'time_first', label: 'first seen', render: (r) => iso(r.time_first) },
    { key: 'time_last', label: 'last seen', render: (r) => iso(r.time_last) },
    { key: 'count', label: 'count', num: true },
  ];

  /* ---- views ---------------------------------------------------------- */
  function showView(name) {
    document.querySelectorAll('#tabs button').forEach((b) =>
      b.setAttribute('aria-selected', b.dataset.view === name ? 'true' : 'false'));
    document.querySelectorAll('.view').forEach((v) => { v.hidden = v.id !== 'view-' + name; });
    if (name === 'graph' && G.cy) G.cy.resize();
    if (name === 'beacons' && !$('beaconsTable').firstChild) loadBeacons();
    if (name === 'watchlist') loadWatchlists();
  }
  document.querySelectorAll('#tabs button').forEach((b) =>
    b.addEventListener('click', () => showView(b.dataset.view)));

  /* ---- lookup --------------------------------------------------------- */
  function fenceQuery() {
    const p = [];
    if ($('since').value.trim()) p.push('since=' + enc($('since').value.trim()));
    if ($('until').value.trim()) p.push('until=' + enc($('until').value.trim()));
    return p;
  }
  async function lookup(v, kind) {
    let path = '/api/v1/lookup/' + kind + '/';
    if (kind === 'ip' && v.includes('/')) path += v.split('/').map(enc).join('/');
    else path += enc(v);
    const q = fenceQuery().concat(['limit=1000']);
    const j = await api(path + '?' + q.join('&'));
    renderLookup(v, kind, j);
  }
  function renderLookup(v, kind, j) {
    const box = $('lookupTables');
    clear(box);
    $('lookupTitle').textContent = kind + ' ' + v + ': ' + j.count + ' results' +
      (j.limited ? ' (more exist: narrow the window)' : '');
    const rrs = j.results.filter((r) => r.rrname !== undefined);
    const sights = j.results.filter((r) => r.type === 'cert_sighting');
    const certs = j.results.filter((r) => r.type === 'certificate');
    for (const c of certs) box.append(certTable(c));
    if (rrs.length) box.append(table([
      { key: 'rrname', label: 'name', render: (r) => pivotLink(r.rrname) },
      { key: 'rrtype', label: 'type' },
      { key: 'rdata', label: 'data', render: (r) => pivotLink(String(r.rdata)) },
    ].concat(timeCols, [
      { key: 'sensors', label: 'sensors', render: (r) => (r.sensors || []).join(', ') },
    ]), rrs, 'Resolutions'));
    if (sights.length) box.append(table([
      { key: 'ip', label: 'IP', render: (r) => pivotLink(r.ip) },
      { key: 'port', label: 'port', num: true },
      { key: 'cert_sha1', label: 'certificate', render: (r) => pivotLink(r.cert_sha1 || r.cert_sha256) },
      { key: 'sni', label: 'SNI', render: (r) => (r.sni || []).join(', ') },
    ].concat(timeCols, [
      { key: 'sensors', label: 'sensors', render: (r) => (r.sensors || []).join(', ') },
    ]), sights, 'Certificate sightings'));
    if (!j.results.length) box.append(el('p', { class: 'hint', text: 'Nothing recorded.' }));
  }
  function certTable(c) {
    const rows = [['SHA-1', c.cert_sha1], ['SHA-256', c.cert_sha256], ['subject', c.subject],
      ['issuer', c.issuer], ['serial', c.serial], ['not before', iso(c.not_before)],
      ['not after', iso(c.not_after)], ['SAN names', (c.san_dns || []).join(', ')],
      ['SAN addresses', (c.san_ip || []).join(', ')]];
    return table([{ key: 0, label: 'certificate' }, { key: 1, label: 'value' }],
      rows.filter((r) => r[1]), 'Certificate');
  }

  /* ---- the graph's state: nodes and edges by key, undo snapshots -------- */
  const G = { cy: null, nodes: new Map(), edges: new Map(), seed: null, history: [],
    metrics: {} };
  window.infrapivot = G; /* for the tests and the benchmark */
  const nodeKey = (n) => n.type + ':' + n.value;

  function pivotParams(seed, depth) {
    const p = ['seed=' + enc(seed), 'depth=' + enc(depth)];
    for (const k of ['max_ip_domains', 'max_cert_ips', 'max_domain_ips', 'max_san', 'max_nodes'])
      if ($(k).value !== '') p.push(k + '=' + enc($(k).value));
    const kinds = [...document.querySelectorAll('#edgekinds input:checked')].map((i) => i.value);
    if (kinds.length === 0) throw new Error('choose at least one edge kind');
    if (kinds.length !== EDGE_KINDS.length) p.push('edges=' + kinds.join(','));
    return p.concat(fenceQuery());
  }
  function snapshot() {
    G.history.push({ nodes: new Map(G.nodes), edges: new Map(G.edges), seed: G.seed });
    if (G.history.length > 50) G.history.shift();
    $('undo').disabled = false;
  }

  /* Merge a pivot result; paths become chains of edge keys, prefixed with
   * the path of the node the pivot started from. Returns the keys added. */
  function merge(res, base) {
    const byId = new Map();
    const added = [];
    for (const n of res.nodes) byId.set(n.id, nodeKey(n));
    const ekeys = new Map();
    for (const e of res.edges) {
      const k = e.type + ':' + byId.get(e.src) + '>' + byId.get(e.dst) + (e.port ? ':' + e.port : '');
      ekeys.set(e.id, k);
      if (!G.edges.has(k)) {
        G.edges.set(k, Object.assign({}, e, { key: k, srcKey: byId.get(e.src), dstKey: byId.get(e.dst) }));
        added.push(k);
      }
    }
    for (const n of res.nodes) {
      const k = nodeKey(n);
      const old = G.nodes.get(k);
      if (old) {
        if (n.id === 0 && base) G.nodes.set(k, Object.assign({}, old, { expanded: true }));
        continue;
      }
      const path = (base ? base.pathKeys : []).concat(n.path.map((id) => ekeys.get(id)));
      G.nodes.set(k, Object.assign({}, n, { key: k, pathKeys: path,
        depth: (base ? base.depth : 0) + n.depth }));
      added.push(k);
    }
    return added;
  }

  /* ---- cytoscape ------------------------------------------------------ */
  const STYLE = [
    { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'text-valign': 'bottom',
      'text-wrap': 'wrap', 'text-max-width': 180,
      'text-margin-y': 2, 'min-zoomed-font-size': 7, width: 18, height: 18,
      'background-color': '#4a7fd4', 'border-width': 1, 'border-color': '#2b4f8a' } },
    { selector: 'node[type="ip"]', style: { shape: 'round-rectangle', 'background-color': '#3c9a5f',
      'border-color': '#1f5c37' } },
    { selector: 'node[type="cert"]', style: { shape: 'diamond', 'background-color': '#e07b24',
      'border-color': '#8a4510', width: 22, height: 22 } },
    { selector: 'node[type="key"]', style: { shape: 'hexagon', 'background-color': '#8e5bc4',
      'border-color': '#4e2a78' } },
    { selector: 'node[type="subject"]', style: { shape: 'tag', 'background-color': '#b8a02a',
      'border-color': '#6b5c10' } },
    { selector: 'node[type="jarm"], node[type="ja3s"]', style: { shape: 'star',
      'background-color': '#c44b6c', 'border-color': '#6e1f35' } },
    { selector: 'node.seed', style: { 'border-width': 4, 'border-color': '#e8a317', width: 26, height: 26 } },
    { selector: 'node.pruned', style: { 'background-color': '#d0d0d0', 'border-style': 'dashed',
      'border-color': '#555', 'border-width': 2, color: '#666' } },
    { selector: 'node.expanded', style: { 'border-style': 'double', 'border-width': 4 } },
    { selector: 'node:selected', style: { 'overlay-color': '#e8a317', 'overlay-opacity': 0.35,
      'overlay-padding': 5 } },
    { selector: 'edge', style: { width: 1.2, 'line-color': '#9aa5b1', 'target-arrow-color': '#9aa5b1',
      'target-arrow-shape': 'triangle', 'arrow-scale': 0.7, 'curve-style': 'bezier',
      label: 'data(label)', 'font-size': 8, color: '#55606b', 'text-rotation': 'autorotate',
      'min-zoomed-font-size': 8, 'text-background-color': '#fff', 'text-background-opacity': 0.8 } },
    /* large graphs, zoomed out: plain lines (no arrows, no labels) draw much faster */
    { selector: 'edge.fast', style: { 'curve-style': 'haystack', 'haystack-radius': 0, label: '' } },
    { selector: 'node.fast', style: { label: '' } },
    { selector: 'edge.to-pruned', style: { 'line-style': 'dashed', 'line-color': '#c3c3c3' } },
    { selector: '.hidden', style: { display: 'none' } },
  ];
  function initCy() {
    if (G.cy) return;
    G.cy = cytoscape({ container: $('cy'), style: STYLE, wheelSensitivity: 0.3,
      boxSelectionEnabled: true, selectionType: 'single', textureOnViewport: true,
      hideEdgesOnViewport: true, minZoom: 0.05, maxZoom: 4 });
    /* a double-click expands the node its clicks were on: the browser's own
     * dblclick, not cytoscape's dbltap, which times the two taps itself and
     * misses slow ones on a busy machine */
    let tapped = null;
    G.cy.on('tap', (ev) => { tapped = ev.target === G.cy ? null : ev.target; });
    G.cy.on('tap', 'node', (ev) => showNode(ev.target.id(), true));
    $('cy').addEventListener('dblclick', () => {
      if (tapped && tapped.isNode && tapped.isNode()) expand(tapped.id(), false);
    });
    /* a large graph draws its labels only once zoomed in far enough to read them */
    let lod = null;
    G.cy.on('zoom', () => {
      clearTimeout(lod);
      lod = setTimeout(() => {
        if (G.nodes.size <= BIG) return;
        const near = G.cy.zoom() >= 0.7;
        G.cy.batch(() => G.cy.elements().toggleClass('fast', !near));
      }, 150);
    });
  }
  function nodeLabel(n) {
    const v = ['cert', 'key', 'jarm', 'ja3s'].includes(n.type) ? shortHash(n.value) : n.value;
    return n.pruned ? v + '\n✂ ' + n.pruned : v;
  }
  function elementsOf(keys) {
    const els = [];
    for (const k of keys) {
      const n = G.nodes.get(k);
      if (!n) continue;
      const cls = [n.key === G.seed ? 'seed' : '', n.pruned ? 'pruned' : '',
        n.expanded ? 'expanded' : ''].join(' ');
      els.push({ group: 'nodes', data: { id: k, type: n.type, label: nodeLabel(n) }, classes: cls });
    }
    for (const k of keys) {
      const e = G.edges.get(k);
      if (!e) continue;
      const pr = (G.nodes.get(e.dstKey) || {}).pruned || (G.nodes.get(e.srcKey) || {}).pruned;
      els.push({ group: 'edges', data: { id: k, source: e.srcKey, target: e.dstKey,
        label: e.type + (e.port ? ' :' + e.port : '') }, classes: pr ? 'to-pruned' : '' });
    }
    return els;
  }
  /* Rings by depth around the seed, each node near the node that reached
   * it: O(n), so a 500-node pivot needs no force layout. */
  function ringPositions() {
    const levels = [];
    for (const n of G.nodes.values()) (levels[n.depth] = levels[n.depth] || []).push(n);
    const angle = new Map();
    const pos = new Map();
    const parentAngle = (n) => {
      const e = G.edges.get(n.pathKeys[n.pathKeys.length - 1]);
      const p = e ? (e.srcKey === n.key ? e.dstKey : e.srcKey) : null;
      return angle.has(p) ? angle.get(p) : 0;
    };
    let r = 0;
    levels.forEach((lv, d) => {
      if (!lv) return;
      lv.sort((a, b) => parentAngle(a) - parentAngle(b) || (a.key < b.key ? -1 : 1));
      r = d === 0 ? 0 : Math.max(r + 160, (lv.length * 26) / (2 * Math.PI));
      lv.forEach((n, i) => {
        const a = (2 * Math.PI * i) / lv.length;
        angle.set(n.key, a);
        pos.set(n.key, { x: r * Math.cos(a), y: r * Math.sin(a) });
      });
    });
    return pos;
  }
  const BIG = 120;
  function boxOf(points) {
    const b = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
    for (const p of points) {
      b.x1 = Math.min(b.x1, p.x); b.x2 = Math.max(b.x2, p.x);
      b.y1 = Math.min(b.y1, p.y); b.y2 = Math.max(b.y2, p.y);
    }
    b.w = b.x2 - b.x1;
    b.h = b.y2 - b.y1;
    return b;
  }
  /* cy.fit() measures every label; the nodes' own boxes are enough */
  function fitNodes(cy, pos) {
    const bb = pos ? boxOf(pos.values()) : cy.nodes().boundingBox({ includeLabels: false, includeOverlays: false });
    const w = cy.width(), h = cy.height();
    if (!isFinite(bb.x1)) return;
    const z = Math.max(cy.minZoom(), Math.min(1.6, (w - 80) / (bb.w || 1), (h - 80) / (bb.h || 1)));
    cy.viewport({ zoom: z, pan: { x: w / 2 - (z * (bb.x1 + bb.x2)) / 2, y: h / 2 - (z * (bb.y1 + bb.y2)) / 2 } });
  }
  /* Draw the whole state anew and lay it out; resolves once it is drawn. */
  function render() {
    initCy();
    const t0 = performance.now();
    const cy = G.cy;
    const big = G.nodes.size > BIG;
    const els = elementsOf([...G.nodes.keys()]).concat(elementsOf([...G.edges.keys()]));
    const pos = big ? ringPositions() : null;
    if (big) {
      for (const e of els) {
        if (e.group === 'nodes') e.position = pos.get(e.data.id);
        e.classes += ' fast';
      }
    }
    cy.batch(() => {
      cy.elements().remove();
      cy.add(els);
    });
    applyPruned();

    return new Promise((resolve) => {
      const drawn = (pos) => {
        fitNodes(cy, pos);
        requestAnimationFrame(() => {
          G.metrics.layoutMs = performance.now() - t0;
          updateGraphBar();
          resolve();
        });
      };
      if (big) return drawn(pos);
      const ly = cy.elements(':visible').layout({ name: 'cose', animate: false, randomize: false,
        numIter: 600, nodeRepulsion: () => 9000, idealEdgeLength: () => 70, componentSpacing: 60 });
      ly.one('layoutstop', () => drawn());
      ly.run();
    });
  }
  function applyPruned() {
    const show = $('showPruned').checked;
    if (show && !G.cy.$('.hidden').length) return updateGraphBar();
    G.cy.batch(() => {
      G.cy.nodes('.pruned').forEach((n) => {
        n.toggleClass('hidden', !show && !G.nodes.get(n.id()).expanded);
      });
      G.cy.edges().forEach((e) =>
        e.toggleClass('hidden', e.source().hasClass('hidden') || e.target().hasClass('hidden')));
    });
    updateGraphBar();
  }
  function updateGraphBar() {
    if (!G.cy) return;
    const vis = G.cy.nodes().filter((n) => !n.hasClass('hidden')).length;
    const s = $('graphStats');
    s.dataset.nodes = G.nodes.size;
    s.dataset.edges = G.edges.size;
    s.dataset.visible = vis;
    s.textContent = G.nodes.size + ' nodes (' + vis + ' shown), ' + G.edges.size + ' edges';
    const sel = $('nodeList');
    const cur = sel.value;
    clear(sel);
    sel.append(el('option', { value: '', text: '(choose a node)' }));
    for (const n of G.nodes.values())
      sel.append(el('option', { value: n.key, text: n.type + ' ' + n.value + (n.pruned ? ' (pruned)' : '') }));
    sel.value = cur;
  }

  /* ---- pivot, expand, undo ------------------------------------------- */
  async function pivot(seed) {
    const t0 = performance.now();
    status('pivoting from ' + seed + ' …');
    const res = await api('/api/v1/pivot?' + pivotParams(seed, $('depth').value).join('&'));
    snapshot();
    G.nodes.clear();
    G.edges.clear();
    G.params = res.params;
    G.seed = nodeKey(res.nodes[0]);
    merge(res, null);
    await render();
    G.metrics.totalMs = performance.now() - t0;
    status('pivot from ' + seed + ': ' + res.nodes.length + ' nodes, ' + res.edges.length +
      ' edges' + (res.truncated ? ', truncated by ' + res.truncated_by : '') +
      ' (laid out in ' + Math.round(G.metrics.layoutMs) + ' ms)');
    if (res.nodes.length) showNode(G.seed);
  }
  async function expand(key, anyway) {
    const n = G.nodes.get(key);
    if (!n) return;
    if (n.pruned && !anyway) {
      status(n.value + ' is pruned (' + n.pruned + '): use "Expand anyway"');
      showNode(key);
      return;
    }
    status('expanding ' + n.value + ' …');
    try {
      const res = await api('/api/v1/pivot?' + pivotParams(n.value, 1).concat(['type=' + n.type]).join('&'));
      snapshot();
      const added = merge(res, n);
      G.nodes.set(key, Object.assign({}, G.nodes.get(key), { expanded: true }));
      await render();
      const newNodes = added.filter((k) => G.nodes.has(k)).length;
      status('expanded ' + n.value + ': ' + newNodes + ' new nodes, ' +
        (added.length - newNodes) + ' new edges');
      G.lastExpand = { key: key, newNodes: newNodes };
      showNode(key);
    } catch (e) { status(e.message, true); }
  }
  async function undo() {
    const s = G.history.pop();
    if (!s) return;
    G.nodes = s.nodes;
    G.edges = s.edges;
    G.seed = s.seed;
    $('undo').disabled = G.history.length === 0;
    await render();
    status('undone');
  }

  /* ---- node panel ----------------------------------------------------- */
  function edgeSentence(e) {
    const a = G.nodes.get(e.srcKey), b = G.nodes.get(e.dstKey);
    const nm = (n) => (n ? (n.type === 'cert' ? 'certificate ' + shortHash(n.value)
      : n.type === 'key' || n.type === 'jarm' || n.type === 'ja3s' ? shortHash(n.value) : n.value) : '?');
    let s;
    switch (e.type) {
      case 'resolves': s = nm(a) + ' resolved to ' + nm(b); break;
      case 'cname': s = nm(a) + ' was an alias (CNAME) of ' + nm(b); break;
      case 'serves': s = nm(a) + ' served ' + nm(b) + (e.port ? ' on port ' + e.port : ''); break;
      case 'san': s = nm(a) + ' names ' + nm(b) + ' in its SAN list'; break;
      case 'sni': s = nm(a) + ' was asked for (SNI) with ' + nm(b); break;
      case 'key': s = nm(a) + ' has the public key ' + nm(b); break;
      case 'subject': s = nm(a) + ' has the subject ' + nm(b); break;
      case 'fingerprint': s = nm(a) + ' answered with the ' + (b ? b.type.toUpperCase() : '') +
        ' fingerprint ' + nm(b) + (e.port ? ' on port ' + e.port : ''); break;
      default: s = nm(a) + ' ' + e.type + ' ' + nm(b);
    }
    if (e.first_seen || e.last_seen) {
      const span = iso(e.first_seen) + ' … ' + iso(e.last_seen);
      s += e.type === 'san' ? ' (valid ' + span + ')' : ' (seen ' + span + ')';
    }
    return s;
  }
  function pathSentences(n) {
    return n.pathKeys.map((k) => G.edges.get(k)).filter(Boolean).map(edgeSentence);
  }
  function copyable(v) {
    const s = el('span', { class: 'hash', text: v });
    const b = el('button', { type: 'button', text: 'copy', title: 'copy to the clipboard',
      onclick: () => {
        if (navigator.clipboard) navigator.clipboard.writeText(v).then(() => status('copied ' + v));
      } });
    return el('span', {}, s, ' ', b);
  }
  function dl(pairs) {
    const d = el('dl', {});
    for (const [k, v] of pairs) {
      if (v == null || v === '') continue;
      d.append(el('dt', { text: k }), el('dd', {}, v));
    }
    return d;
  }
  /* tapped: cytoscape selected it (shift/ctrl adds to the selection) */
  function showNode(key, tapped) {
    const n = G.nodes.get(key);
    const p = $('panel');
    clear(p);
    if (!n) return;
    const cyn = G.cy && G.cy.$id(key);
    if (cyn && cyn.length && !tapped) { G.cy.nodes().unselect(); cyn.select(); }
    $('nodeList').value = key;
    p.append(el('h2', { id: 'nodeTitle', text: n.type + ' ' + (n.type === 'cert' ? shortHash(n.value) : n.value) }));
    p.append(dl([['value', copyable(n.value)], ['depth', String(n.depth)],
      ['first seen', iso(n.first_seen) || 'unknown'], ['last seen', iso(n.last_seen) || 'unknown'],
      ['age', n.age_days == null ? 'unknown' : n.age_days + ' days'],
      ['degree', cyn && cyn.length ? String(cyn.degree(false)) + ' edges in this graph' : ''],
      ['prevalence', String(n.degree) + (n.type === 'ip' ? ' names on this IP' :
        n.type === 'cert' ? ' IPs served it' : ' IPs of this name')],
      ['ports', (n.ports || []).join(', ')]]));
    if (n.pruned) {
      p.append(el('p', { class: 'pruned-note', id: 'prunedNote' },
        'Pruned: ' + n.pruned + (n.pruned_detail ? ' — ' + n.pruned_detail : '')));
    }
    const acts = el('div', { class: 'buttons' });
    acts.append(el('button', { type: 'button', id: 'expandBtn', text: 'Expand (e)',
      disabled: n.pruned ? '' : null, onclick: () => expand(key, false) }));
    if (n.pruned) acts.append(el('button', { type: 'button', id: 'expandAnyway', text: 'Expand anyway',
      onclick: () => expand(key, true) }));
    acts.append(el('button', { type: 'button', text: 'Look up', onclick: () => search(n.value, true) }));
    p.append(acts);
    p.append(el('h3', { text: 'How it was reached' }));
    const sents = pathSentences(n);
    const ol = el('ol', { id: 'pathList' });
    if (sents.length === 0) ol.append(el('li', { text: n.value + ' is the seed.' }));
    for (const s of sents) ol.append(el('li', { text: s }));
    p.append(ol);
    if (n.type === 'cert') certPanel(p, n);
    if (n.estate) estatePanel(p, n);
  }
  function certPanel(p, n) {
    p.append(el('h3', { text: 'Certificate' }));
    p.append(dl([['SHA-1', n.sha1 ? copyable(n.sha1) : ''], ['SHA-256', n.sha256 ? copyable(n.sha256) : ''],
      ['subject', el('span', { id: 'certSubject', text: n.subject || '' })],
      ['issuer', n.issuer], ['serial', n.serial],
      ['validity', n.not_before || n.not_after ? iso(n.not_before) + ' … ' + iso(n.not_after) : ''],
      ['SANs', n.san_count != null ? String(n.san_count) : '']]));
    const sans = el('p', { class: 'hint', id: 'sanList' });
    p.append(sans);
    api('/api/v1/lookup/cert/' + enc(n.value) + '?limit=1').then((j) => {
      const c = (j.results || []).find((r) => r.type === 'certificate');
      if (c) sans.textContent = 'SAN: ' + ((c.san_dns || []).concat(c.san_ip || []).join(', ') || 'none');
    }).catch(() => {});
  }
  function estatePanel(p, n) {
    const e = n.estate;
    p.append(el('h3', { text: 'Our estate' }));
    p.append(dl([['hosts', String(e.hosts)], ['organisations', String(e.orgs)],
      ['sensors', String(e.sensors)],
      ['beacon score', e.beacon ? String(e.beacon.score) : ''],
      ['period', e.beacon && e.beacon.period_s ? e.beacon.period_s + ' s' : '']]));
    const box = el('div', {});
    p.append(el('button', { type: 'button', text: 'Clients', onclick: async () => {
      try {
        const j = await api('/api/v1/clients/' + n.type + '/' + enc(n.value));
        clear(box);
        box.append(table([{ key: 'client', label: 'client' }, { key: 'org', label: 'org' },
          { key: 'count', label: 'count', num: true }, { key: 'score', label: 'score', num: true },
          { key: 'last_seen', label: 'last seen', render: (r) => iso(r.last_seen) }], j.clients || []));
      } catch (err) { box.textContent = err.message; }
    } }), box);
  }

  /* ---- search -------------------------------------------------------- */
  async function search(v, lookupOnly) {
    v = v.trim();
    if (!v) return;
    $('q').value = v;
    const kind = detectKind(v);
    history.replaceState(null, '', '/?seed=' + enc(v));
    try {
      const lk = lookup(v, kind).catch((e) => { $('lookupTitle').textContent = e.message; });
      if (lookupOnly || v.includes('/')) {
        await lk;
        showView('lookup');
        return;
      }
      showView('graph');
      await pivot(v);
      await lk;
    } catch (e) { status(e.message, true); }
  }
  $('search').addEventListener('submit', (ev) => { ev.preventDefault(); search($('q').value); });

  /* ---- downloads ----------------------------------------------------- */
  function save(blob, name) {
    const a = el('a', { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  async function download(fmt) {
    if (!G.seed) return status('nothing to download yet', true);
    const seedVal = G.nodes.get(G.seed).value;
    const base = 'pivot-' + seedVal.replace(/[^A-Za-z0-9._-]/g, '_');
    if (fmt === 'png') return save(await G.cy.png({ output: 'blob-promise', full: true, bg: '#ffffff', scale: 2 }), base + '.png');
    if (fmt === 'json') {
      const doc = { seed: G.nodes.get(G.seed), params: G.params, nodes: [...G.nodes.values()],
        edges: [...G.edges.values()] };
      return save(new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' }), base + '.json');
    }
    /* DOT and STIX are the server's renderings of the seed's pivot */
    const r = await api('/api/v1/pivot?' + pivotParams(seedVal, $('depth').value).concat(['format=' + fmt]).join('&'), null, true);
    save(await r.blob(), base + (fmt === 'dot' ? '.dot' : '.stix.json'));
  }
  document.querySelectorAll('[data-dl]').forEach((b) =>
    b.addEventListener('click', () => download(b.dataset.dl).catch((e) => status(e.message, true))));

  /* ---- watchlists ---------------------------------------------------- */
  async function addSelected() {
    const name = $('wlName').value.trim();
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) return status('watchlist name: 1-64 of A-Z a-z 0-9 . _ -', true);
    const sel = G.cy ? G.cy.nodes(':selected').map((n) => G.nodes.get(n.id())) : [];
    if (!sel.length) return status('select nodes first (click, shift-click)', true);
    await api('/api/v1/watchlists/' + enc(name), { method: 'PUT', body: '{}',
      headers: { 'Content-Type': 'application/json' } });
    const entries = sel.map((n) => ({ indicator: n.value, type: n.type,
      reason: ('pivot from ' + G.nodes.get(G.seed).value + ': ' +
        (pathSentences(n).join('; ') || 'the seed')).slice(0, 900) }));
    const j = await api('/api/v1/watchlists/' + enc(name) + '/entries', { method: 'POST',
      body: JSON.stringify(entries), headers: { 'Content-Type': 'application/json' } });
    status('watchlist ' + name + ': ' + j.added + ' added, ' + j.refreshed + ' refreshed (version ' + j.version + ')');
  }
  async function loadWatchlists() {
    const j = await api('/api/v1/watchlists').catch((e) => { status(e.message, true); return null; });
    if (!j) return;
    const sel = $('wlSelect');
    const want = sel.value || $('wlName').value;
    clear(sel);
    for (const w of j.watchlists) sel.append(el('option', { value: w.name, text: w.name + ' (' + w.entries + ')' }));
    if ([...sel.options].some((o) => o.value === want)) sel.value = want;
    if (sel.value) showWatchlist(sel.value);
  }
  async function showWatchlist(name) {
    const j = await api('/api/v1/watchlists/' + enc(name));
    const box = $('wlTable');
    clear(box);
    const es = j.entries || [];
    $('wlNote').textContent = name + ': ' + es.length + ' entries, version ' + j.version;
    box.append(table([
      { key: 'indicator', label: 'indicator', render: (r) => pivotLink(r.indicator) },
      { key: 'type', label: 'type' },
      { key: 'added', label: 'added', render: (r) => iso(r.added) },
      { key: 'expires', label: 'expires', render: (r) => iso(r.expires) || 'never' },
      { key: 'source', label: 'source' }, { key: 'reason', label: 'reason' },
      { key: 'prov', label: 'provenance', sort: (r) => provText(r),
        render: (r) => provText(r) },
    ], es));
  }
  function provText(r) {
    return (r.provenance || []).map((p) => (p.note || '') + (p.at ? ' @ ' + iso(p.at) : '') +
      (p.path && p.path.length ? ' [' + p.path.map((e) => e.from + ' ' + e.edge + ' ' + e.to).join('; ') + ']' : '')).join(' | ');
  }
  $('wlAdd').addEventListener('click', () => addSelected().catch((e) => status(e.message, true)));
  $('wlView').addEventListener('click', () => { $('wlSelect').value = ''; showView('watchlist'); });
  $('wlRefresh').addEventListener('click', () => $('wlSelect').value &&
    showWatchlist($('wlSelect').value).catch((e) => status(e.message, true)));

  /* ---- beacons ------------------------------------------------------- */
  async function loadBeacons() {
    try {
      const j = await api('/api/v1/beacons?' + fenceQuery().join('&'));
      const box = $('beaconsTable');
      clear(box);
      $('beaconsNote').textContent = j.length + ' destinations ranked as beacons';
      box.append(table([
        { key: 'destination', label: 'destination', render: (r) => pivotLink(r.destination) },
        { key: 'type', label: 'type' }, { key: 'score', label: 'score', num: true },
        { key: 'period_s', label: 'period (s)', num: true },
        { key: 'hosts', label: 'hosts', num: true }, { key: 'orgs', label: 'orgs', num: true },
        { key: 'first_seen', label: 'first seen', render: (r) => iso(r.first_seen) },
        { key: 'last_seen', label: 'last seen', render: (r) => iso(r.last_seen) },
        { key: 'reasons', label: 'why', render: (r) => (r.reasons || []).join('; ') },
      ], j));
    } catch (e) { status(e.message, true); }
  }
  $('beaconsLoad').addEventListener('click', loadBeacons);

  /* ---- controls and keys --------------------------------------------- */
  document.querySelectorAll('.quick button').forEach((b) => b.addEventListener('click', () => {
    $('since').value = b.dataset.since;
    $('until').value = '';
    if (G.seed) pivot(G.nodes.get(G.seed).value).catch((e) => status(e.message, true));
  }));
  $('repivot').addEventListener('click', () => {
    const v = G.seed ? G.nodes.get(G.seed).value : $('q').value.trim();
    if (v) pivot(v).catch((e) => status(e.message, true));
  });
  $('undo').addEventListener('click', undo);
  $('showPruned').addEventListener('change', () => G.cy && applyPruned());
  $('nodeList').addEventListener('change', () => $('nodeList').value && showNode($('nodeList').value));
  document.addEventListener('keydown', (ev) => {
    const t = ev.target.tagName;
    if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const selKey = $('nodeList').value;
    if (ev.key === '/') { ev.preventDefault(); $('q').focus(); }
    else if (ev.key === 'u') undo();
    else if (ev.key === 'p') { $('showPruned').checked = !$('showPruned').checked; if (G.cy) applyPruned(); }
    else if (ev.key === 'e' && selKey) expand(selKey, false);
  });

  /* ---- start: ask for a token if the server wants one, follow ?seed= -- */
  async function start() {
    if (sessionStorage.getItem(TOKEN_KEY)) $('logout').hidden = false;
    try {
      await api('/api/v1/stats');
      status('ready');
    } catch (e) { status(e.message, true); }
    const seed = new URLSearchParams(location.search).get('seed');
    if (seed) search(seed);
    document.body.dataset.ready = '1';
  }
  start();
})();
