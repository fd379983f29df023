// @ts-check
/**
 * The inspector page's script, served as `/inspector.js` (the page's CSP allows same-origin script
 * only). Plain browser JavaScript for current browsers: no build step, no dependencies.
 * Type-checked by `npm run typecheck` (tsconfig.json here) and linted with the rest.
 */
(function () {
  'use strict';

  // Everything shown comes from captured traffic, i.e. from whoever called the API: it is only
  // ever put in the page as text (textContent, text nodes), never as markup, URLs or attributes.
  var MARKER = '[CLIENT_REDACTED]';
  var MAX_ENTRIES = 5000;
  var MAX_ROWS = 500;
  var MAX_BODY_CHARS = 200000;
  var MAX_NESTING = 4;
  var CATALOG_REFRESH_MS = 1000;
  var COPIED_RESET_MS = 1500;
  var MIN_COLUMN_PX = 40;
  var NO_ROUTE = '(no route)';

  var state = {
    instance: null,
    entries: [],
    bySeq: new Map(),
    byMsgId: new Map(),
    children: new Map(),
    methods: new Set(),
    routes: new Set(),
    services: new Map(),
    sort: { key: null, dir: 1 },
    leakFilter: null,
    leaks: { groups: [], byRecord: new Map() },
    leaksTimer: null,
    resizing: false,
    paused: false,
    held: [],
    hiddenBelow: 0,
    selected: null,
    view: 'log',
    catalogTimer: null,
    renderQueued: false,
  };

  /**
   * An element of the page by id, typed loosely: the page's own markup says what each one is
   * (an input, a select...), and the callers use it as such.
   * @param {string} id
   * @returns {any}
   */
  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function str(value) {
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  // Appends text to parent with every redaction marker wrapped in <mark class="redacted"> and, in
  // the detail of a record with leak findings, every flagged value in <mark class="leak">.
  function marked(parent, text) {
    var rest = str(text);
    var needles = state.needles || [];
    for (;;) {
      var at = rest.indexOf(MARKER);
      var hit = at === -1 ? null : MARKER;
      for (var i = 0; i < needles.length; i++) {
        var j = rest.indexOf(needles[i]);
        if (j !== -1 && (at === -1 || j < at)) {
          at = j;
          hit = needles[i];
        }
      }
      if (hit === null) break;
      if (at > 0) parent.appendChild(document.createTextNode(rest.slice(0, at)));
      var mark = el('mark', hit === MARKER ? 'redacted' : 'leak', hit);
      if (hit !== MARKER) mark.title = 'The leak finder flagged this value';
      parent.appendChild(mark);
      rest = rest.slice(at + hit.length);
    }
    if (rest !== '') parent.appendChild(document.createTextNode(rest));
    return parent;
  }

  // An outgoing call's raw_url is already absolute: never put its host in front of it twice.
  function shownUrl(record) {
    var raw = str(record.raw_url);
    return isOutgoing(record) && !/^https?:\/\//i.test(raw) ? str(record.host) + raw : raw;
  }

  function b64Size(base64) {
    if (typeof base64 !== 'string' || base64 === '') return 0;
    var pad = base64.slice(-2) === '==' ? 2 : base64.slice(-1) === '=' ? 1 : 0;
    return Math.floor((base64.length * 3) / 4) - pad;
  }

  function serviceKeys(record) {
    var keys = [];
    if (typeof record.service_version === 'string' && record.service_version !== '') keys.push('v:' + record.service_version);
    if (Array.isArray(record.tags))
      record.tags.forEach(function (tag) {
        if (typeof tag === 'string') keys.push('t:' + tag);
      });
    return keys;
  }

  function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
  function isOutgoing(record) {
    return typeof record.sdk_type === 'string' && /Outgoing$/.test(record.sdk_type);
  }
  function routeOf(record) {
    return typeof record.url_path === 'string' && record.url_path !== '' ? record.url_path : NO_ROUTE;
  }
  function isNested(entry) {
    var r = entry.record;
    return isOutgoing(r) && typeof r.parent_id === 'string' && state.byMsgId.has(r.parent_id);
  }

  function statusClass(status) {
    if (typeof status !== 'number' || status < 100 || status > 599) return 'sxxx';
    return 's' + Math.floor(status / 100) + 'xx';
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = '0' + s;
    return s;
  }

  function fmtTime(timestamp) {
    var d = new Date(timestamp);
    if (Number.isNaN(d.getTime())) return str(timestamp);
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function fmtMs(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '?';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    return ms.toFixed(ms < 10 ? 2 : 1) + ' ms';
  }

  function fmtDuration(ns) {
    return typeof ns === 'number' ? fmtMs(ns / 1e6) : '?';
  }

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

  function mediaType(contentType) {
    return str(contentType).split(';')[0].trim().toLowerCase();
  }

  // ---------------------------------------------------------------- bodies

  var BINARY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

  function decodeBody(base64, contentType) {
    if (typeof base64 !== 'string' || base64 === '') return { kind: 'empty', size: 0 };
    var binary;
    try {
      binary = atob(base64);
    } catch {
      return { kind: 'invalid', size: base64.length };
    }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var text;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { kind: 'binary', size: bytes.length };
    }
    if (BINARY_CONTROL.test(text)) return { kind: 'binary', size: bytes.length };
    var type = mediaType(contentType);
    var form = type === 'application/x-www-form-urlencoded';
    var claimsJson = type === 'application/json' || /\+json$/.test(type);
    if (claimsJson || form || /^\s*[[{]/.test(text)) {
      try {
        var value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        return { kind: form && isObject(value) ? 'form' : 'json', size: bytes.length, text: JSON.stringify(value, null, 2), raw: text };
      } catch {
        /* not JSON after all */
      }
    }
    if (form) {
      var lines = [];
      new URLSearchParams(text).forEach(function (v, k) {
        lines.push(k + ' = ' + v);
      });
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
        pre.appendChild(
          el('span', 'muted', '\n… cut at ' + MAX_BODY_CHARS + ' characters (' + fmtBytes(body.size) + ' in all; see Raw JSON)'),
        );
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
      Object.keys(headers).forEach(function (name) {
        parts.push(name + ': ' + str(headers[name]));
      });
    });
    var req = decodeBody(r.request_body, headerValue(r.request_headers, 'content-type'));
    var res = decodeBody(r.response_body, headerValue(r.response_headers, 'content-type'));
    if (req.raw) parts.push(req.raw.slice(0, 100000));
    if (res.raw) parts.push(res.raw.slice(0, 100000));
    if (Array.isArray(r.errors))
      r.errors.forEach(function (e) {
        parts.push(str(e && e.error_type), str(e && e.message), str(e && e.root_error_message));
      });
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
      if (!kids) state.children.set(r.parent_id, (kids = []));
      kids.push(entry);
    }
    if (typeof r.method === 'string') state.methods.add(r.method);
    if (!isOutgoing(r)) state.routes.add(routeOf(r));
    serviceKeys(r).forEach(function (key) {
      state.services.set(key, (key.charAt(0) === 'v' ? 'version ' : 'tag ') + key.slice(2));
    });
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
    return kids
      ? kids.filter(function (k) {
          return k !== entry;
        })
      : [];
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
      service: byId('filter-service').value,
      text: byId('filter-text').value.trim().toLowerCase(),
    };
  }

  function matches(entry, f) {
    var r = entry.record;
    if (f.method && r.method !== f.method) return false;
    if (f.status === 'error') {
      if (!(r.status_code >= 500 || (Array.isArray(r.errors) && r.errors.length > 0))) return false;
    } else if (f.status && statusClass(r.status_code) !== 's' + f.status + 'xx') return false;
    if (f.route && routeOf(r) !== f.route) return false;
    if (f.service && serviceKeys(r).indexOf(f.service) === -1) return false;
    if (state.leakFilter && !state.leakFilter.msgIds.has(r.msg_id)) return false;
    if (f.text && searchText(entry).indexOf(f.text) === -1) return false;
    return true;
  }

  function visibleEntries() {
    var f = filters();
    var out = [];
    for (var i = state.entries.length - 1; i >= 0; i--) {
      var entry = state.entries[i];
      if (entry.seq <= state.hiddenBelow) break;
      // Outgoing calls sit under their request, except when a leak finding lists them itself.
      if (isNested(entry) && state.leakFilter === null) continue;
      if (matches(entry, f)) out.push(entry);
    }
    return sortEntries(out);
  }

  var SORT_KEYS = {
    time: function (e) {
      return str(e.record.timestamp);
    },
    method: function (e) {
      return str(e.record.method);
    },
    route: function (e) {
      return routeOf(e.record);
    },
    url: function (e) {
      return shownUrl(e.record);
    },
    status: function (e) {
      return typeof e.record.status_code === 'number' ? e.record.status_code : -1;
    },
    duration: function (e) {
      return typeof e.record.duration === 'number' ? e.record.duration : -1;
    },
    size: function (e) {
      return b64Size(e.record.response_body);
    },
  };

  // Newest first unless a column header asked otherwise; ties keep arrival order.
  function sortEntries(list) {
    var key = state.sort.key;
    if (key === null || !SORT_KEYS[key]) return list;
    var get = SORT_KEYS[key];
    var dir = state.sort.dir;
    return list
      .map(function (e, i) {
        return { e: e, k: get(e), i: i };
      })
      .sort(function (a, b) {
        if (a.k < b.k) return -dir;
        if (a.k > b.k) return dir;
        return a.i - b.i;
      })
      .map(function (x) {
        return x.e;
      });
  }

  function setSort(key) {
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key: key, dir: 1 };
    var ths = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#log thead th'));
    for (var i = 0; i < ths.length; i++) {
      var th = ths[i];
      if (th.dataset.sort === key) th.setAttribute('aria-sort', state.sort.dir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    renderLog();
  }

  // A drag handle at the right edge of each column header; the widths stay until the page reloads.
  function makeResizable(th) {
    var handle = el('span', 'resizer');
    handle.title = 'Drag to resize';
    th.appendChild(handle);
    handle.addEventListener('click', function (event) {
      event.stopPropagation();
    });
    handle.addEventListener('mousedown', function (event) {
      event.preventDefault();
      event.stopPropagation();
      var startX = event.clientX;
      var startWidth = th.getBoundingClientRect().width;
      state.resizing = true;
      handle.classList.add('active');
      function move(e) {
        th.style.width = Math.max(MIN_COLUMN_PX, Math.round(startWidth + e.clientX - startX)) + 'px';
      }
      function up() {
        document.removeEventListener('mousemove', move);
        document.removeEventListener('mouseup', up);
        handle.classList.remove('active');
        // The click that ends a drag must not also sort.
        setTimeout(function () {
          state.resizing = false;
        }, 0);
      }
      document.addEventListener('mousemove', move);
      document.addEventListener('mouseup', up);
    });
  }

  function syncOptions(select, values) {
    var current = select.value;
    var have = {};
    for (var i = 1; i < select.options.length; i++) have[select.options[i].value] = true;
    var missing = Array.from(values).filter(function (v) {
      return !have[v];
    });
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

  function syncServices() {
    var select = byId('filter-service');
    if (select.options.length - 1 === state.services.size) return;
    var current = select.value;
    while (select.options.length > 1) select.remove(1);
    Array.from(state.services.keys())
      .sort()
      .forEach(function (key) {
        var option = el('option', null, state.services.get(key));
        option.value = key;
        select.appendChild(option);
      });
    select.value = current;
  }

  function renderLog() {
    syncOptions(byId('filter-method'), state.methods);
    syncOptions(byId('filter-route'), state.routes);
    syncServices();
    var list = visibleEntries();
    // The detail never shows a record the filters hide.
    if (
      state.selected !== null &&
      !list.some(function (e) {
        return e.seq === state.selected;
      })
    ) {
      state.selected = null;
      renderDetail();
    }
    var chip = byId('leak-filter');
    chip.hidden = state.leakFilter === null;
    if (state.leakFilter !== null) byId('leak-filter-text').textContent = 'Records of the finding: ' + state.leakFilter.label;
    var body = byId('log-body');
    var fragment = document.createDocumentFragment();
    list.slice(0, MAX_ROWS).forEach(function (entry) {
      fragment.appendChild(row(entry));
    });
    body.textContent = '';
    body.appendChild(fragment);
    var received = state.entries.filter(function (e) {
      return e.seq > state.hiddenBelow && !isNested(e);
    }).length;
    byId('count').textContent =
      (list.length > MAX_ROWS ? 'newest ' + MAX_ROWS + ' of ' : '') + list.length + ' of ' + received + ' requests';
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
    marked(url, shownUrl(r));
    var kids = childrenOf(entry).length;
    if (kids > 0) url.appendChild(el('span', 'badge calls', '↳ ' + kids + (kids === 1 ? ' call' : ' calls')));
    if (Array.isArray(r.errors) && r.errors.length > 0)
      url.appendChild(el('span', 'badge err', r.errors.length === 1 ? 'error' : r.errors.length + ' errors'));
    if (isOutgoing(r)) url.appendChild(el('span', 'badge out', 'outgoing'));
    tr.appendChild(url);
    tr.appendChild(el('td', 'status ' + statusClass(r.status_code), r.status_code));
    tr.appendChild(el('td', 'num duration', fmtDuration(r.duration)));
    var size = el('td', 'num size', fmtBytes(b64Size(r.response_body)));
    size.title = 'response body ' + fmtBytes(b64Size(r.response_body)) + ', request body ' + fmtBytes(b64Size(r.request_body));
    tr.appendChild(size);
    tr.tabIndex = -1;
    tr.addEventListener('click', function () {
      select(entry.seq);
    });
    return tr;
  }

  function select(seq) {
    state.selected = seq;
    var rows = byId('log-body').children;
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle('selected', rows[i].dataset.seq === String(seq));
    renderDetail();
  }

  // Arrow keys (or j/k) move the selection through the rows shown, as in the browser's dev tools.
  function moveSelection(step) {
    var rows = byId('log-body').children;
    if (rows.length === 0) return;
    var at = -1;
    for (var i = 0; i < rows.length; i++) if (rows[i].dataset.seq === String(state.selected)) at = i;
    var next = at === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    var row = rows[next];
    select(Number(row.dataset.seq));
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: 'nearest' });
  }

  // ---------------------------------------------------------------- detail

  function renderDetail() {
    var aside = byId('detail');
    var entry = state.selected === null ? undefined : state.bySeq.get(state.selected);
    aside.textContent = '';
    if (!entry) {
      aside.hidden = true;
      return;
    }
    aside.hidden = false;
    var close = el('button', 'close', 'Close');
    close.type = 'button';
    close.addEventListener('click', function () {
      select(null);
    });
    aside.appendChild(close);
    var findings = state.leaks.byRecord.get(entry.seq);
    if (findings === undefined) loadRecordLeaks(entry.seq);
    state.needles = needlesOf(findings || []);
    try {
      aside.appendChild(recordView(entry, 0));
    } finally {
      state.needles = null;
    }
  }

  // The texts to highlight for a record's findings: the flagged value as it appears in a header or
  // parameter, and as it appears (escaped) in pretty-printed JSON. Short values (a CVV, a PIN)
  // only as a whole JSON string, or they would light up every "123" on the page.
  function needlesOf(findings) {
    var out = [];
    findings.forEach(function (f) {
      var m = str(f.match);
      if (m.length >= 4) {
        out.push(m);
        var escaped = JSON.stringify(m).slice(1, -1);
        if (escaped !== m) out.push(escaped);
      } else if (m !== '') out.push(JSON.stringify(m));
    });
    return out
      .filter(function (n, i) {
        return out.indexOf(n) === i;
      })
      .sort(function (a, b) {
        return b.length - a.length;
      });
  }

  function loadRecordLeaks(seq) {
    state.leaks.byRecord.set(seq, []);
    fetch('/api/records/' + seq + '/leaks')
      .then(function (res) {
        return res.json();
      })
      .then(function (data) {
        var findings = Array.isArray(data.findings) ? data.findings : [];
        state.leaks.byRecord.set(seq, findings);
        if (findings.length > 0 && state.selected === seq) renderDetail();
      })
      .catch(function () {
        state.leaks.byRecord.delete(seq);
      });
  }

  // Sets a button's label for a moment (Copied), then puts the original back.
  function flash(button, text) {
    if (button.dataset.label === undefined) button.dataset.label = button.textContent;
    button.textContent = text;
    clearTimeout(button.flashTimer);
    button.flashTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
    }, COPIED_RESET_MS);
  }

  function copyText(text, button) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(
        function () {
          flash(button, 'Copied');
        },
        function () {
          flash(button, 'Copy failed: select the text');
        },
      );
    } else flash(button, 'Copy failed: select the text');
  }

  function leaksBox(findings) {
    var box = el('div', 'leaks-box');
    var list = el('ul', 'leak-list');
    findings.forEach(function (f) {
      var li = el('li', 'leak-item');
      li.appendChild(el('span', 'confidence c-' + f.confidence, f.confidence));
      li.appendChild(document.createTextNode(' ' + f.description + ' in ' + whereText(f.location) + ' '));
      li.appendChild(el('span', 'detector', '[' + f.detector + ']'));
      list.appendChild(li);
    });
    box.appendChild(list);
    var open = el('button', 'open-leaks', 'Open the Leaks view');
    open.type = 'button';
    open.addEventListener('click', function () {
      show('leaks');
    });
    box.appendChild(open);
    return box;
  }

  var PART_LABEL = {
    request_header: 'request header',
    response_header: 'response header',
    query: 'query parameter',
    request_body: 'request body',
    response_body: 'response body',
    url_path: 'path parameter',
    error: 'error',
  };

  function whereText(location) {
    return (PART_LABEL[location.part] || location.part) + ' ' + (location.field === '' ? '(whole)' : location.field);
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
    marked(title, shownUrl(r));
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
    curl.addEventListener('click', function () {
      copyCurl(entry, curl, curlOut);
    });
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
    var findings = depth === 0 ? state.leaks.byRecord.get(entry.seq) : undefined;
    if (findings && findings.length > 0) section(box, 'Leaks (' + findings.length + ')', leaksBox(findings));
    if (typeof r.parent_id === 'string' && state.byMsgId.has(r.parent_id) && depth === 0) {
      var parent = state.byMsgId.get(r.parent_id);
      var up = el('button', 'open-parent', 'Open the request that made this call');
      up.type = 'button';
      up.addEventListener('click', function () {
        select(parent.seq);
      });
      box.appendChild(up);
    }

    if (isObject(r.path_params) && Object.keys(r.path_params).length > 0)
      section(box, 'Path parameters', kvTable(r.path_params, 'path-params'));
    if (isObject(r.query_params) && Object.keys(r.query_params).length > 0)
      section(box, 'Query parameters', kvTable(r.query_params, 'query-params'));
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
      var span = timeline(r, kids);
      kids.forEach(function (kid) {
        var k = kid.record;
        var details = el('details', 'child');
        details.dataset.seq = String(kid.seq);
        var summary = el('summary');
        summary.appendChild(el('span', 'method', k.method));
        summary.appendChild(document.createTextNode(' '));
        marked(summary, shownUrl(k));
        summary.appendChild(document.createTextNode(' '));
        summary.appendChild(el('span', 'status ' + statusClass(k.status_code), k.status_code));
        summary.appendChild(el('span', 'muted', ' ' + fmtDuration(k.duration)));
        summary.appendChild(waterfallBar(span, k));
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

  // The time span the waterfall of a request's outgoing calls covers: from the request's start to
  // the end of the request or of its last call, whichever is later (milliseconds).
  function timeline(parent, kids) {
    var start = Date.parse(parent.timestamp);
    var end = start + (typeof parent.duration === 'number' ? parent.duration / 1e6 : 0);
    kids.forEach(function (kid) {
      var k = kid.record;
      var s = Date.parse(k.timestamp);
      if (!Number.isNaN(s)) end = Math.max(end, s + (typeof k.duration === 'number' ? k.duration / 1e6 : 0));
    });
    return { start: start, total: Math.max(end - start, 0.001) };
  }

  function waterfallBar(span, k) {
    var track = el('span', 'waterfall');
    var bar = el('span', 'bar');
    var offset = Date.parse(k.timestamp) - span.start;
    var ms = typeof k.duration === 'number' ? k.duration / 1e6 : 0;
    if (Number.isNaN(offset) || Number.isNaN(span.start)) offset = 0;
    var left = Math.min(100, Math.max(0, (offset / span.total) * 100));
    // Set through the CSSOM: the page's CSP allows no style attributes.
    bar.style.left = left.toFixed(2) + '%';
    bar.style.width = Math.min(100 - left, Math.max(0.5, (ms / span.total) * 100)).toFixed(2) + '%';
    track.title = 'starts ' + fmtMs(offset) + ' after the request, takes ' + fmtMs(ms);
    track.appendChild(bar);
    return track;
  }

  function copyCurl(entry, button, out) {
    fetch('/api/records/' + entry.seq + '/curl')
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        out.textContent = '';
        marked(out, text.replace(/\n$/, ''));
        out.hidden = false;
        copyText(text, button);
      })
      .catch(function (error) {
        out.hidden = false;
        out.textContent = 'Could not build the command: ' + error.message;
      });
  }

  // ---------------------------------------------------------------- HAR

  function exportHar() {
    var seqs = [];
    var add = function (entry, depth) {
      seqs.push(entry.seq);
      if (depth < MAX_NESTING)
        childrenOf(entry).forEach(function (kid) {
          add(kid, depth + 1);
        });
    };
    visibleEntries().forEach(function (entry) {
      add(entry, 0);
    });
    var button = byId('export-har');
    fetch('/api/har', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seqs: seqs }) })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        var match = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
        var name = match ? match[1] : 'apitoolkit.har';
        return res.blob().then(function (blob) {
          return { blob: blob, name: name };
        });
      })
      .then(function (file) {
        var url = URL.createObjectURL(file.blob);
        var a = document.createElement('a');
        a.href = url;
        a.download = file.name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () {
          URL.revokeObjectURL(url);
        }, 60000);
        button.textContent = 'Export HAR';
      })
      .catch(function (error) {
        button.textContent = 'Export failed: ' + error.message;
      });
  }

  // ---------------------------------------------------------------- catalog

  function loadCatalog() {
    fetch('/api/catalog')
      .then(function (res) {
        return res.json();
      })
      .then(renderCatalog)
      .catch(function () {
        /* retried on the next record */
      });
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
    var kinds = Object.keys(shape.kinds || {}).map(function (k) {
      return (KIND_LABEL[k] || k) + ' ×' + shape.kinds[k];
    });
    wrap.appendChild(el('div', 'shape-kinds', kinds.join(', ')));
    var fields = (shape.fields || []).filter(function (f) {
      return f.path !== '$' || f.redacted > 0;
    });
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

  // ---------------------------------------------------------------- leaks

  var CONFIDENCE_RANK = { high: 0, medium: 1, low: 2 };

  function loadLeaks() {
    fetch('/api/leaks')
      .then(function (res) {
        return res.json();
      })
      .then(function (data) {
        state.leaks.groups = Array.isArray(data.groups) ? data.groups : [];
        renderLeaks();
      })
      .catch(function () {
        /* retried on the next record */
      });
  }

  function scheduleLeaks() {
    if (state.leaksTimer !== null) return;
    state.leaksTimer = setTimeout(function () {
      state.leaksTimer = null;
      loadLeaks();
    }, CATALOG_REFRESH_MS);
  }

  function setDismissed(group, dismissed, button) {
    button.disabled = true;
    fetch('/api/leaks/dismiss', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: group.id, dismissed: dismissed }),
    })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        group.dismissed = dismissed;
        renderLeaks();
      })
      .catch(function (error) {
        button.disabled = false;
        button.textContent = 'Failed: ' + error.message;
      });
  }

  function showRecordsOf(group) {
    state.leakFilter = { id: group.id, label: whereText(group.location) + ' of ' + group.endpoint, msgIds: new Set(group.msgIds || []) };
    state.selected = null;
    show('log');
    renderLog();
  }

  function renderLeaks() {
    var groups = state.leaks.groups;
    var min = CONFIDENCE_RANK[byId('leaks-confidence').value];
    var showDismissed = byId('leaks-show-dismissed').checked;
    var open = groups.filter(function (g) {
      return !g.dismissed;
    });
    var badge = byId('leak-count');
    badge.hidden = open.length === 0;
    badge.textContent = String(open.length);
    if (state.view !== 'leaks') return;
    var shown = groups.filter(function (g) {
      return CONFIDENCE_RANK[g.confidence] <= min && (showDismissed || !g.dismissed);
    });
    var body = byId('leaks-body');
    var fragment = document.createDocumentFragment();
    shown.forEach(function (g) {
      var tr = el('tr', 'leak' + (g.dismissed ? ' dismissed' : ''));
      tr.dataset.id = g.id;
      tr.appendChild(el('td', 'confidence c-' + g.confidence, g.confidence));
      var what = el('td', 'finding');
      g.detectors.forEach(function (d, i) {
        if (i > 0) what.appendChild(el('br'));
        what.appendChild(document.createTextNode(d.description + ' '));
        what.appendChild(el('span', 'detector', '[' + d.detector + ']'));
      });
      what.appendChild(el('div', 'muted preview', 'e.g. ' + g.preview));
      tr.appendChild(what);
      var endpoint = el('td', 'endpoint');
      endpoint.appendChild(el('span', 'method', g.method));
      endpoint.appendChild(document.createTextNode(' ' + (g.route === '' ? NO_ROUTE : g.route)));
      if (g.outgoing) endpoint.appendChild(el('span', 'badge out', 'outgoing'));
      tr.appendChild(endpoint);
      var where = el('td', 'where');
      where.appendChild(document.createTextNode((PART_LABEL[g.location.part] || g.location.part) + ' '));
      where.appendChild(el('code', 'field', g.location.field === '' ? '(whole)' : g.location.field));
      tr.appendChild(where);
      var records = el('td', 'num records clickable', g.records);
      records.title = 'Show these requests';
      records.addEventListener('click', function () {
        showRecordsOf(g);
      });
      tr.appendChild(records);
      var rule = el('td', 'rule-cell');
      if (g.rule) {
        var line = el('div', 'rule');
        line.appendChild(el('code', 'rule-text', g.rule.text));
        var copy = el('button', 'copy-rule', 'Copy');
        copy.type = 'button';
        copy.addEventListener('click', function () {
          copyText(g.rule.text, copy);
        });
        line.appendChild(copy);
        rule.appendChild(line);
      } else rule.appendChild(el('span', 'muted advice', g.advice));
      tr.appendChild(rule);
      var act = el('td', 'actions');
      var button = el('button', g.dismissed ? 'reopen' : 'dismiss', g.dismissed ? 'Reopen' : 'Dismiss');
      button.type = 'button';
      button.title = g.dismissed ? 'Count this finding again' : 'A false positive: hide it here and in doctor --scan';
      button.addEventListener('click', function () {
        setDismissed(g, !g.dismissed, button);
      });
      act.appendChild(button);
      tr.appendChild(act);
      fragment.appendChild(tr);
    });
    body.textContent = '';
    body.appendChild(fragment);
    var dismissed = groups.length - open.length;
    byId('leaks-count').textContent =
      open.length + ' open' + (dismissed > 0 ? ', ' + dismissed + ' dismissed' : '') + ' · ' + shown.length + ' shown';
    byId('leaks-empty').hidden = shown.length > 0;
  }

  // ---------------------------------------------------------------- views, connection

  var VIEWS = ['log', 'catalog', 'leaks'];

  function show(view) {
    state.view = view;
    VIEWS.forEach(function (v) {
      byId(v + '-view').hidden = v !== view;
      var tab = byId('tab-' + v);
      tab.classList.toggle('active', v === view);
      tab.setAttribute('aria-pressed', String(v === view));
    });
    if (view === 'catalog') loadCatalog();
    if (view === 'leaks') loadLeaks();
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
    scheduleLeaks();
    var selected = state.selected === null ? undefined : state.bySeq.get(state.selected);
    if (selected && entry.record.parent_id && entry.record.parent_id === selected.record.msg_id) renderDetail();
  }

  function describe(info) {
    var foot = byId('foot');
    foot.textContent =
      'collector ' +
      str(info.version) +
      ' · metadata ' +
      str(info.rootURL) +
      ' · Pub/Sub ' +
      str(info.pubsubEndpoint) +
      ' · project ' +
      str(info.projectId) +
      ' · history ' +
      (info.jsonlPath ? str(info.jsonlPath) : 'in memory only');
  }

  function loadRecords(instance) {
    fetch('/api/records?limit=' + MAX_ENTRIES)
      .then(function (res) {
        return res.json();
      })
      .then(function (data) {
        if (data.instance !== instance || state.instance !== instance) return;
        (data.records || []).forEach(addEntry);
        scheduleRender();
        if (state.view === 'catalog') loadCatalog();
        loadLeaks();
      })
      .catch(function () {
        setConn('down', 'could not load records');
      });
  }

  function connect() {
    var source = new EventSource('/events');
    source.addEventListener('hello', function (event) {
      var info = JSON.parse(event.data);
      if (state.instance !== null && state.instance !== info.instance) {
        // A restarted collector numbers its records anew: start over from its store.
        resetAll();
        state.leaks = { groups: [], byRecord: new Map() };
        state.leakFilter = null;
        renderDetail();
      }
      state.instance = info.instance;
      describe(info);
      if (!state.paused) setConn('live', 'live');
      loadRecords(info.instance);
    });
    source.addEventListener('record', function (event) {
      try {
        receive(JSON.parse(event.data));
      } catch {
        /* a malformed event is skipped */
      }
    });
    source.addEventListener('error', function () {
      setConn('down', 'reconnecting…');
    });
  }

  function init() {
    byId('filters').addEventListener('submit', function (event) {
      event.preventDefault();
    });
    ['filter-method', 'filter-status', 'filter-route', 'filter-service'].forEach(function (id) {
      byId(id).addEventListener('change', renderLog);
    });
    var ths = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#log thead th'));
    for (var i = 0; i < ths.length; i++) {
      (function (th) {
        makeResizable(th);
        th.addEventListener('click', function () {
          if (!state.resizing) setSort(th.dataset.sort);
        });
      })(ths[i]);
    }
    byId('leak-filter-clear').addEventListener('click', function () {
      state.leakFilter = null;
      renderLog();
    });
    byId('leak-filters').addEventListener('submit', function (event) {
      event.preventDefault();
    });
    byId('leaks-confidence').addEventListener('change', renderLeaks);
    byId('leaks-show-dismissed').addEventListener('change', renderLeaks);
    byId('tab-leaks').addEventListener('click', function () {
      show('leaks');
    });
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
    byId('tab-log').addEventListener('click', function () {
      show('log');
    });
    byId('tab-catalog').addEventListener('click', function () {
      show('catalog');
    });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        select(null);
        return;
      }
      var target = /** @type {HTMLElement | null} */ (event.target);
      var typing = target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA');
      if (typing || state.view !== 'log' || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === 'ArrowDown' || event.key === 'j') {
        event.preventDefault();
        moveSelection(1);
      } else if (event.key === 'ArrowUp' || event.key === 'k') {
        event.preventDefault();
        moveSelection(-1);
      } else if (event.key === '/') {
        event.preventDefault();
        byId('filter-text').focus();
      }
    });
    renderLog();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
