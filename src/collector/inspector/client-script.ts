/**
 * The inspector page's script, served as `/inspector.js` (the page's CSP allows same-origin script
 * only, so it cannot be inline). Plain ES2020 for current browsers, no build step, no dependencies.
 * Kept as a string so it ships inside the build; it holds no backticks and no dollar-brace, so
 * String.raw returns it byte for byte (a test compiles it).
 */

/** The inspector's client-side script. */
export const INSPECTOR_SCRIPT = String.raw`(function () {
  'use strict';

  // Everything shown comes from captured traffic, i.e. from whoever called the API: it is only
  // ever put in the page as text (textContent, text nodes), never as markup, URLs or attributes.
  var MARKER = '[CLIENT_REDACTED]';
  var MAX_ENTRIES = 5000;
  var MAX_ROWS = 500;
  var MAX_BODY_CHARS = 200000;
  var MAX_NESTING = 4;
  var CATALOG_REFRESH_MS = 1000;
  var NO_ROUTE = '(no route)';

  var state = {
    instance: null,
    entries: [],
    bySeq: new Map(),
    byMsgId: new Map(),
    children: new Map(),
    methods: new Set(),
    routes: new Set(),
    paused: false,
    held: [],
    hiddenBelow: 0,
    selected: null,
    view: 'log',
    catalogTimer: null,
    renderQueued: false
  };

  function byId(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function str(value) {
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : (typeof value === 'object' ? JSON.stringify(value) : String(value));
  }

  // Appends text to parent with every redaction marker wrapped in <mark class="redacted">.
  function marked(parent, text) {
    var parts = str(text).split(MARKER);
    for (var i = 0; i < parts.length; i++) {
      if (i > 0) parent.appendChild(el('mark', 'redacted', MARKER));
      if (parts[i] !== '') parent.appendChild(document.createTextNode(parts[i]));
    }
    return parent;
  }

  function isObject(value) { return typeof value === 'object' && value !== null && !Array.isArray(value); }
  function isOutgoing(record) { return typeof record.sdk_type === 'string' && /Outgoing$/.test(record.sdk_type); }
  function routeOf(record) { return typeof record.url_path === 'string' && record.url_path !== '' ? record.url_path : NO_ROUTE; }
  function isNested(entry) {
    var r = entry.record;
    return isOutgoing(r) && typeof r.parent_id === 'string' && state.byMsgId.has(r.parent_id);
  }

  function statusClass(status) {
    if (typeof status !== 'number' || status < 100 || status > 599) return 'sxxx';
    return 's' + Math.floor(status / 100) + 'xx';
  }

  function pad(n, width) { var s = String(n); while (s.length < width) s = '0' + s; return s; }

  function fmtTime(timestamp) {
    var d = new Date(timestamp);
    if (isNaN(d.getTime())) return str(timestamp);
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function fmtMs(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '?';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    return ms.toFixed(ms < 10 ? 2 : 1) + ' ms';
  }

  function fmtDuration(ns) { return typeof ns === 'number' ? fmtMs(ns / 1e6) : '?'; }

  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  function headerValue(headers, name) {
    if (!isObject(headers)) return undefined;
    var values = headers[name];
    var first = Array.isArray(values) ? values[0] : values;
    return typeof first === 'string' ? first : undefined;
  }

  function mediaType(contentType) { return str(contentType).split(';')[0].trim().toLowerCase(); }

  // ---------------------------------------------------------------- bodies

  var BINARY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

  function decodeBody(base64, contentType) {
    if (typeof base64 !== 'string' || base64 === '') return { kind: 'empty', size: 0 };
    var binary;
    try { binary = atob(base64); } catch (e) { return { kind: 'invalid', size: base64.length }; }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var text;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { return { kind: 'binary', size: bytes.length }; }
    if (BINARY_CONTROL.test(text)) return { kind: 'binary', size: bytes.length };
    var type = mediaType(contentType);
    var form = type === 'application/x-www-form-urlencoded';
    var claimsJson = type === 'application/json' || /\+json$/.test(type);
    if (claimsJson || form || /^\s*[\[{]/.test(text)) {
      try {
        var value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        return { kind: form && isObject(value) ? 'form' : 'json', size: bytes.length, text: JSON.stringify(value, null, 2), raw: text };
      } catch (e) { /* not JSON after all */ }
    }
    if (form) {
      var lines = [];
      new URLSearchParams(text).forEach(function (v, k) { lines.push(k + ' = ' + v); });
      return { kind: 'form', size: bytes.length, text: lines.join('\n'), raw: text };
    }
    return { kind: 'text', size: bytes.length, text: text, raw: text };
  }

  var KIND_LABEL = { json: 'JSON', form: 'form fields', text: 'text', binary: 'binary', empty: 'empty', invalid: 'not base64' };

  function bodyView(base64, contentType, name) {
    var wrap = el('div', 'body body-' + name);
    var body = decodeBody(base64, contentType);
    wrap.dataset.kind = body.kind;
    var meta = el('div', 'body-meta');
    var bits = [KIND_LABEL[body.kind] || body.kind];
    if (body.kind !== 'empty') bits.push(fmtBytes(body.size));
    if (contentType) bits.push(contentType);
    meta.textContent = bits.join(' · ');
    wrap.appendChild(meta);
    if (body.text !== undefined) {
      var pre = el('pre', 'body-text');
      var text = body.text;
      if (text.length > MAX_BODY_CHARS) {
        marked(pre, text.slice(0, MAX_BODY_CHARS));
        pre.appendChild(el('span', 'muted', '\n… cut at ' + MAX_BODY_CHARS + ' characters (' + fmtBytes(body.size) + ' in all; see Raw JSON)'));
      } else {
        marked(pre, text);
      }
      wrap.appendChild(pre);
    }
    return wrap;
  }

  function searchText(entry) {
    if (entry.hay !== undefined) return entry.hay;
    var r = entry.record;
    var parts = [r.method, r.url_path, r.raw_url, r.host, r.status_code, r.sdk_type, r.msg_id];
    [r.request_headers, r.response_headers].forEach(function (headers) {
      if (!isObject(headers)) return;
      Object.keys(headers).forEach(function (name) { parts.push(name + ': ' + str(headers[name])); });
    });
    var req = decodeBody(r.request_body, headerValue(r.request_headers, 'content-type'));
    var res = decodeBody(r.response_body, headerValue(r.response_headers, 'content-type'));
    if (req.raw) parts.push(req.raw.slice(0, 100000));
    if (res.raw) parts.push(res.raw.slice(0, 100000));
    if (Array.isArray(r.errors)) r.errors.forEach(function (e) { parts.push(str(e && e.error_type), str(e && e.message), str(e && e.root_error_message)); });
    entry.hay = parts.map(str).join('\n').toLowerCase();
    return entry.hay;
  }

  // ---------------------------------------------------------------- data

  function addEntry(entry) {
    if (!entry || typeof entry.seq !== 'number' || !isObject(entry.record) || state.bySeq.has(entry.seq)) return false;
    state.bySeq.set(entry.seq, entry);
    var list = state.entries;
    if (list.length === 0 || list[list.length - 1].seq < entry.seq) list.push(entry);
    else {
      var at = list.length;
      while (at > 0 && list[at - 1].seq > entry.seq) at--;
      list.splice(at, 0, entry);
    }
    var r = entry.record;
    if (typeof r.msg_id === 'string') state.byMsgId.set(r.msg_id, entry);
    if (typeof r.parent_id === 'string' && r.parent_id !== '') {
      var kids = state.children.get(r.parent_id);
      if (!kids) state.children.set(r.parent_id, kids = []);
      kids.push(entry);
    }
    if (typeof r.method === 'string') state.methods.add(r.method);
    if (!isOutgoing(r)) state.routes.add(routeOf(r));
    while (list.length > MAX_ENTRIES) forget(list.shift());
    return true;
  }

  function forget(entry) {
    state.bySeq.delete(entry.seq);
    var r = entry.record;
    if (state.byMsgId.get(r.msg_id) === entry) state.byMsgId.delete(r.msg_id);
    var kids = state.children.get(r.parent_id);
    if (kids) {
      var i = kids.indexOf(entry);
      if (i !== -1) kids.splice(i, 1);
      if (kids.length === 0) state.children.delete(r.parent_id);
    }
    if (state.selected === entry.seq) state.selected = null;
  }

  function childrenOf(entry) {
    var kids = state.children.get(entry.record.msg_id);
    return kids ? kids.filter(function (k) { return k !== entry; }) : [];
  }

  function resetAll() {
    state.entries = [];
    state.bySeq = new Map();
    state.byMsgId = new Map();
    state.children = new Map();
    state.held = [];
    state.hiddenBelow = 0;
    state.selected = null;
  }

  // ---------------------------------------------------------------- filters and the log

  function filters() {
    return {
      method: byId('filter-method').value,
      status: byId('filter-status').value,
      route: byId('filter-route').value,
      text: byId('filter-text').value.trim().toLowerCase()
    };
  }

  function matches(entry, f) {
    var r = entry.record;
    if (f.method && r.method !== f.method) return false;
    if (f.status === 'error') {
      if (!(r.status_code >= 500 || (Array.isArray(r.errors) && r.errors.length > 0))) return false;
    } else if (f.status && statusClass(r.status_code) !== 's' + f.status + 'xx') return false;
    if (f.route && routeOf(r) !== f.route) return false;
    if (f.text && searchText(entry).indexOf(f.text) === -1) return false;
    return true;
  }

  function visibleEntries() {
    var f = filters();
    var out = [];
    for (var i = state.entries.length - 1; i >= 0; i--) {
      var entry = state.entries[i];
      if (entry.seq <= state.hiddenBelow) break;
      if (isNested(entry)) continue;
      if (matches(entry, f)) out.push(entry);
    }
    return out;
  }

  function syncOptions(select, values) {
    var current = select.value;
    var have = {};
    for (var i = 1; i < select.options.length; i++) have[select.options[i].value] = true;
    var missing = Array.from(values).filter(function (v) { return !have[v]; });
    if (missing.length === 0) return;
    var all = Object.keys(have).concat(missing).sort();
    while (select.options.length > 1) select.remove(1);
    all.forEach(function (v) {
      var option = el('option', null, v);
      option.value = v;
      select.appendChild(option);
    });
    select.value = current;
  }

  function scheduleRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(function () {
      state.renderQueued = false;
      renderLog();
    });
  }

  function renderLog() {
    syncOptions(byId('filter-method'), state.methods);
    syncOptions(byId('filter-route'), state.routes);
    var list = visibleEntries();
    var body = byId('log-body');
    var fragment = document.createDocumentFragment();
    list.slice(0, MAX_ROWS).forEach(function (entry) { fragment.appendChild(row(entry)); });
    body.textContent = '';
    body.appendChild(fragment);
    var received = state.entries.filter(function (e) { return e.seq > state.hiddenBelow && !isNested(e); }).length;
    byId('count').textContent = (list.length > MAX_ROWS ? 'newest ' + MAX_ROWS + ' of ' : '') + list.length + ' of ' + received + ' requests';
    byId('empty').hidden = received > 0;
  }

  function row(entry) {
    var r = entry.record;
    var tr = el('tr', 'record-row');
    tr.dataset.seq = String(entry.seq);
    if (state.selected === entry.seq) tr.classList.add('selected');
    tr.appendChild(el('td', 'time', fmtTime(r.timestamp)));
    tr.appendChild(el('td', 'method', r.method));
    tr.appendChild(el('td', 'route', isOutgoing(r) ? str(r.host) + str(r.url_path) : routeOf(r)));
    var url = el('td', 'url');
    marked(url, r.raw_url);
    var kids = childrenOf(entry).length;
    if (kids > 0) url.appendChild(el('span', 'badge calls', '↳ ' + kids + (kids === 1 ? ' call' : ' calls')));
    if (Array.isArray(r.errors) && r.errors.length > 0) url.appendChild(el('span', 'badge err', r.errors.length === 1 ? 'error' : r.errors.length + ' errors'));
    if (isOutgoing(r)) url.appendChild(el('span', 'badge out', 'outgoing'));
    tr.appendChild(url);
    tr.appendChild(el('td', 'status ' + statusClass(r.status_code), r.status_code));
    tr.appendChild(el('td', 'num duration', fmtDuration(r.duration)));
    tr.addEventListener('click', function () { select(entry.seq); });
    return tr;
  }

  function select(seq) {
    state.selected = seq;
    var rows = byId('log-body').children;
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle('selected', rows[i].dataset.seq === String(seq));
    renderDetail();
  }

  // ---------------------------------------------------------------- detail

  function renderDetail() {
    var aside = byId('detail');
    var entry = state.selected === null ? undefined : state.bySeq.get(state.selected);
    aside.textContent = '';
    if (!entry) { aside.hidden = true; return; }
    aside.hidden = false;
    var close = el('button', 'close', 'Close');
    close.type = 'button';
    close.addEventListener('click', function () { select(null); });
    aside.appendChild(close);
    aside.appendChild(recordView(entry, 0));
  }

  function kvTable(map, className) {
    var table = el('table', 'kv ' + className);
    var tbody = el('tbody');
    Object.keys(map).forEach(function (name) {
      var values = Array.isArray(map[name]) ? map[name] : [map[name]];
      values.forEach(function (value) {
        var tr = el('tr');
        tr.appendChild(el('td', 'k', name));
        tr.appendChild(marked(el('td', 'v'), str(value)));
        tbody.appendChild(tr);
      });
    });
    table.appendChild(tbody);
    return table;
  }

  function section(box, title, content) {
    box.appendChild(el('h3', null, title));
    box.appendChild(content);
  }

  function field(dl, label, value) {
    if (value === undefined || value === null || value === '') return;
    dl.appendChild(el('dt', null, label));
    dl.appendChild(marked(el('dd'), str(value)));
  }

  function recordView(entry, depth) {
    var r = entry.record;
    var box = el('div', 'record-detail');
    box.dataset.seq = String(entry.seq);

    var title = el('h2');
    title.appendChild(el('span', 'method', r.method));
    title.appendChild(document.createTextNode(' '));
    marked(title, isOutgoing(r) ? str(r.host) + str(r.raw_url) : r.raw_url);
    title.appendChild(document.createTextNode(' '));
    title.appendChild(el('span', 'status ' + statusClass(r.status_code), r.status_code));
    box.appendChild(title);

    var actions = el('div', 'actions');
    var curl = el('button', 'copy-curl', 'Copy as cURL');
    curl.type = 'button';
    var raw = el('button', 'toggle-raw', 'Raw JSON');
    raw.type = 'button';
    actions.appendChild(curl);
    actions.appendChild(raw);
    box.appendChild(actions);
    var curlOut = el('pre', 'curl-output');
    curlOut.hidden = true;
    box.appendChild(curlOut);
    var rawOut = el('pre', 'raw-json');
    rawOut.hidden = true;
    box.appendChild(rawOut);
    curl.addEventListener('click', function () { copyCurl(entry, curl, curlOut); });
    raw.addEventListener('click', function () {
      if (rawOut.hidden && rawOut.childNodes.length === 0) marked(rawOut, JSON.stringify(r, null, 2));
      rawOut.hidden = !rawOut.hidden;
      raw.classList.toggle('on', !rawOut.hidden);
    });

    var dl = el('dl', 'summary');
    field(dl, isOutgoing(r) ? 'Path' : 'Route', isOutgoing(r) ? r.url_path : routeOf(r));
    field(dl, 'Duration', fmtDuration(r.duration));
    field(dl, 'Time', r.timestamp);
    field(dl, 'Host', r.host);
    field(dl, 'HTTP', typeof r.proto_major === 'number' ? r.proto_major + '.' + r.proto_minor : '');
    field(dl, 'SDK', r.sdk_type);
    field(dl, 'msg_id', r.msg_id);
    field(dl, 'parent_id', r.parent_id);
    field(dl, 'Referer', r.referer);
    field(dl, 'Version', r.service_version);
    field(dl, 'Tags', Array.isArray(r.tags) && r.tags.length > 0 ? r.tags.join(', ') : '');
    box.appendChild(dl);
    if (typeof r.parent_id === 'string' && state.byMsgId.has(r.parent_id) && depth === 0) {
      var parent = state.byMsgId.get(r.parent_id);
      var up = el('button', 'open-parent', 'Open the request that made this call');
      up.type = 'button';
      up.addEventListener('click', function () { select(parent.seq); });
      box.appendChild(up);
    }

    if (isObject(r.path_params) && Object.keys(r.path_params).length > 0) section(box, 'Path parameters', kvTable(r.path_params, 'path-params'));
    if (isObject(r.query_params) && Object.keys(r.query_params).length > 0) section(box, 'Query parameters', kvTable(r.query_params, 'query-params'));
    section(box, 'Request headers', kvTable(isObject(r.request_headers) ? r.request_headers : {}, 'request-headers'));
    section(box, 'Request body', bodyView(r.request_body, headerValue(r.request_headers, 'content-type'), 'request'));
    section(box, 'Response headers', kvTable(isObject(r.response_headers) ? r.response_headers : {}, 'response-headers'));
    section(box, 'Response body', bodyView(r.response_body, headerValue(r.response_headers, 'content-type'), 'response'));

    if (Array.isArray(r.errors) && r.errors.length > 0) {
      var errors = el('div', 'errors');
      r.errors.forEach(function (e) {
        e = isObject(e) ? e : {};
        var item = el('div', 'error');
        var head = el('div', 'error-head');
        head.appendChild(el('strong', 'error-type', e.error_type));
        head.appendChild(document.createTextNode(': '));
        marked(head, e.message);
        item.appendChild(head);
        if (e.root_error_type !== e.error_type || e.root_error_message !== e.message) {
          var cause = el('div', 'cause');
          cause.appendChild(document.createTextNode('caused by '));
          cause.appendChild(el('strong', 'root-type', e.root_error_type));
          cause.appendChild(document.createTextNode(': '));
          marked(cause, e.root_error_message);
          item.appendChild(cause);
        }
        if (e.stack_trace) item.appendChild(marked(el('pre', 'stack'), e.stack_trace));
        errors.appendChild(item);
      });
      section(box, 'Errors (' + r.errors.length + ')', errors);
    }

    var kids = childrenOf(entry);
    if (kids.length > 0) {
      var nest = el('div', 'children');
      kids.forEach(function (kid) {
        var k = kid.record;
        var details = el('details', 'child');
        details.dataset.seq = String(kid.seq);
        var summary = el('summary');
        summary.appendChild(el('span', 'method', k.method));
        summary.appendChild(document.createTextNode(' '));
        marked(summary, str(k.host) + str(k.raw_url));
        summary.appendChild(document.createTextNode(' '));
        summary.appendChild(el('span', 'status ' + statusClass(k.status_code), k.status_code));
        summary.appendChild(el('span', 'muted', ' ' + fmtDuration(k.duration)));
        details.appendChild(summary);
        details.addEventListener('toggle', function () {
          if (details.open && details.childNodes.length === 1) {
            details.appendChild(depth + 1 < MAX_NESTING ? recordView(kid, depth + 1) : el('p', 'muted', 'Nested too deep to show here.'));
          }
        });
        nest.appendChild(details);
      });
      section(box, 'Outgoing calls (' + kids.length + ')', nest);
    }
    return box;
  }

  function copyCurl(entry, button, out) {
    fetch('/api/records/' + entry.seq + '/curl').then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.text();
    }).then(function (text) {
      out.textContent = '';
      marked(out, text.replace(/\n$/, ''));
      out.hidden = false;
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { button.textContent = 'Copied'; }, function () { button.textContent = 'Copy as cURL (select the text below)'; });
      }
    }).catch(function (error) {
      out.hidden = false;
      out.textContent = 'Could not build the command: ' + error.message;
    });
  }

  // ---------------------------------------------------------------- HAR

  function exportHar() {
    var seqs = [];
    var add = function (entry, depth) {
      seqs.push(entry.seq);
      if (depth < MAX_NESTING) childrenOf(entry).forEach(function (kid) { add(kid, depth + 1); });
    };
    visibleEntries().forEach(function (entry) { add(entry, 0); });
    var button = byId('export-har');
    fetch('/api/har', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seqs: seqs }) })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        var match = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
        var name = match ? match[1] : 'apitoolkit.har';
        return res.blob().then(function (blob) { return { blob: blob, name: name }; });
      })
      .then(function (file) {
        var url = URL.createObjectURL(file.blob);
        var a = document.createElement('a');
        a.href = url;
        a.download = file.name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        button.textContent = 'Export HAR';
      })
      .catch(function (error) { button.textContent = 'Export failed: ' + error.message; });
  }

  // ---------------------------------------------------------------- catalog

  function loadCatalog() {
    fetch('/api/catalog').then(function (res) { return res.json(); }).then(renderCatalog).catch(function () { /* retried on the next record */ });
  }

  function scheduleCatalog() {
    if (state.view !== 'catalog' || state.catalogTimer !== null) return;
    state.catalogTimer = setTimeout(function () {
      state.catalogTimer = null;
      loadCatalog();
    }, CATALOG_REFRESH_MS);
  }

  function shapeView(shape) {
    var wrap = el('div', 'shape-wrap');
    var kinds = Object.keys(shape.kinds || {}).map(function (k) { return (KIND_LABEL[k] || k) + ' ×' + shape.kinds[k]; });
    wrap.appendChild(el('div', 'shape-kinds', kinds.join(', ')));
    var fields = (shape.fields || []).filter(function (f) { return f.path !== '$' || f.redacted > 0; });
    if (fields.length === 0) return wrap;
    var details = el('details');
    details.open = fields.length <= 8;
    details.appendChild(el('summary', null, fields.length + (fields.length === 1 ? ' field' : ' fields')));
    var list = el('ul', 'shape');
    fields.forEach(function (f) {
      var li = el('li');
      li.dataset.path = f.path;
      li.appendChild(el('code', 'path', f.path));
      if (f.types.length > 0) li.appendChild(el('span', 'types', ' ' + f.types.join(' | ')));
      if (f.redacted > 0) {
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('mark', 'redacted', f.redacted === f.seen ? 'redacted' : 'redacted ' + f.redacted + '/' + f.seen));
      }
      list.appendChild(li);
    });
    details.appendChild(list);
    wrap.appendChild(details);
    if (shape.truncated) wrap.appendChild(el('div', 'muted', 'more fields than shown'));
    return wrap;
  }

  function renderCatalog(data) {
    var body = byId('catalog-body');
    var endpoints = Array.isArray(data.endpoints) ? data.endpoints : [];
    var fragment = document.createDocumentFragment();
    endpoints.forEach(function (e) {
      var tr = el('tr', 'endpoint');
      tr.dataset.key = e.key;
      tr.appendChild(el('td', 'method', e.method));
      var route = el('td', 'route');
      route.appendChild(document.createTextNode(e.route === '' ? NO_ROUTE : e.route));
      if (e.outgoing) route.appendChild(el('span', 'badge out', 'outgoing'));
      if (!e.outgoing) {
        route.title = 'Show these requests';
        route.classList.add('clickable');
        route.addEventListener('click', function () {
          byId('filter-method').value = e.method;
          syncOptions(byId('filter-route'), state.routes);
          byId('filter-route').value = e.route === '' ? NO_ROUTE : e.route;
          show('log');
          renderLog();
        });
      }
      tr.appendChild(route);
      tr.appendChild(el('td', 'num count', e.count));
      var errors = el('td', 'num errors ' + (e.errors > 0 ? 's5xx' : ''), Math.round(e.errorRate * 100) + '%');
      errors.title = e.errors + ' with 5xx or a recorded error; ' + e.clientErrors + ' more with 4xx';
      tr.appendChild(errors);
      tr.appendChild(el('td', 'num p50', fmtMs(e.p50Ms)));
      tr.appendChild(el('td', 'num p95', fmtMs(e.p95Ms)));
      tr.appendChild(el('td', 'num max', fmtMs(e.maxMs)));
      tr.appendChild(el('td', 'time last-seen', fmtTime(e.lastSeen)));
      var req = el('td', 'request-shape');
      req.appendChild(shapeView(e.request));
      tr.appendChild(req);
      var res = el('td', 'response-shape');
      res.appendChild(shapeView(e.response));
      tr.appendChild(res);
      fragment.appendChild(tr);
    });
    body.textContent = '';
    body.appendChild(fragment);
    byId('catalog-empty').hidden = endpoints.length > 0;
  }

  // ---------------------------------------------------------------- views, connection

  function show(view) {
    state.view = view;
    byId('log-view').hidden = view !== 'log';
    byId('catalog-view').hidden = view !== 'catalog';
    ['log', 'catalog'].forEach(function (v) {
      var tab = byId('tab-' + v);
      tab.classList.toggle('active', v === view);
      tab.setAttribute('aria-pressed', String(v === view));
    });
    if (view === 'catalog') loadCatalog();
  }

  function setConn(kind, text) {
    var conn = byId('conn');
    conn.className = 'conn ' + kind;
    conn.textContent = text;
  }

  function updatePause() {
    var button = byId('pause');
    button.classList.toggle('on', state.paused);
    button.textContent = state.paused ? 'Resume' + (state.held.length > 0 ? ' (' + state.held.length + ' new)' : '') : 'Pause';
    if (state.paused) setConn('paused', 'paused');
    else setConn('live', 'live');
  }

  function receive(entry) {
    if (state.paused) {
      state.held.push(entry);
      updatePause();
      return;
    }
    if (!addEntry(entry)) return;
    scheduleRender();
    scheduleCatalog();
    var selected = state.selected === null ? undefined : state.bySeq.get(state.selected);
    if (selected && entry.record.parent_id && entry.record.parent_id === selected.record.msg_id) renderDetail();
  }

  function describe(info) {
    var foot = byId('foot');
    foot.textContent = 'collector ' + str(info.version) + ' · metadata ' + str(info.rootURL) + ' · Pub/Sub ' + str(info.pubsubEndpoint) +
      ' · project ' + str(info.projectId) + ' · history ' + (info.jsonlPath ? str(info.jsonlPath) : 'in memory only');
  }

  function loadRecords(instance) {
    fetch('/api/records?limit=' + MAX_ENTRIES).then(function (res) { return res.json(); }).then(function (data) {
      if (data.instance !== instance || state.instance !== instance) return;
      (data.records || []).forEach(addEntry);
      scheduleRender();
      if (state.view === 'catalog') loadCatalog();
    }).catch(function () { setConn('down', 'could not load records'); });
  }

  function connect() {
    var source = new EventSource('/events');
    source.addEventListener('hello', function (event) {
      var info = JSON.parse(event.data);
      if (state.instance !== null && state.instance !== info.instance) {
        // A restarted collector numbers its records anew: start over from its store.
        resetAll();
        renderDetail();
      }
      state.instance = info.instance;
      describe(info);
      if (!state.paused) setConn('live', 'live');
      loadRecords(info.instance);
    });
    source.addEventListener('record', function (event) {
      try { receive(JSON.parse(event.data)); } catch (e) { /* a malformed event is skipped */ }
    });
    source.addEventListener('error', function () { setConn('down', 'reconnecting…'); });
  }

  function init() {
    byId('filters').addEventListener('submit', function (event) { event.preventDefault(); });
    ['filter-method', 'filter-status', 'filter-route'].forEach(function (id) { byId(id).addEventListener('change', renderLog); });
    byId('filter-text').addEventListener('input', scheduleRender);
    byId('pause').addEventListener('click', function () {
      state.paused = !state.paused;
      if (!state.paused) {
        var held = state.held;
        state.held = [];
        held.forEach(addEntry);
        scheduleRender();
        scheduleCatalog();
      }
      updatePause();
    });
    byId('clear').addEventListener('click', function () {
      var last = state.entries[state.entries.length - 1];
      state.hiddenBelow = last ? last.seq : state.hiddenBelow;
      select(null);
      renderLog();
    });
    byId('export-har').addEventListener('click', exportHar);
    byId('tab-log').addEventListener('click', function () { show('log'); });
    byId('tab-catalog').addEventListener('click', function () { show('catalog'); });
    document.addEventListener('keydown', function (event) { if (event.key === 'Escape') select(null); });
    renderLog();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
`;
