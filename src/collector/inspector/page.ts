/**
 * The inspector's page and stylesheet, as strings so they ship inside the build with no asset step.
 * The page holds no inline script or style (the CSP forbids both); all behaviour is in
 * `/inspector.js`, all presentation in `/inspector.css`.
 */

/** The one HTML page of the inspector. */
export const INSPECTOR_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>apitoolkit-node inspector</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/inspector.css">
<script src="/inspector.js" defer></script>
</head>
<body>
<header class="top">
  <h1>apitoolkit-node <span>inspector</span></h1>
  <nav class="tabs" aria-label="Views">
    <button type="button" id="tab-log" class="tab active" aria-pressed="true">Requests</button>
    <button type="button" id="tab-catalog" class="tab" aria-pressed="false">Endpoints</button>
    <button type="button" id="tab-leaks" class="tab" aria-pressed="false">Leaks <span id="leak-count" class="badge" hidden></span></button>
  </nav>
  <p id="conn" class="conn" role="status">connecting…</p>
</header>
<main>
  <section id="log-view" aria-label="Requests">
    <form class="toolbar" id="filters" autocomplete="off">
      <label>Method <select id="filter-method"><option value="">all</option></select></label>
      <label>Status <select id="filter-status">
        <option value="">all</option>
        <option value="2">2xx</option><option value="3">3xx</option><option value="4">4xx</option><option value="5">5xx</option>
        <option value="1">1xx</option><option value="error">with errors</option>
      </select></label>
      <label>Route <select id="filter-route"><option value="">all</option></select></label>
      <label>Service <select id="filter-service" title="Service version or tag"><option value="">all</option></select></label>
      <label class="grow">Search <input id="filter-text" type="search" placeholder="URL, header, body, error…"></label>
      <button type="button" id="pause">Pause</button>
      <button type="button" id="export-har" title="Download the requests shown (and their outgoing calls) as HAR 1.2">Export HAR</button>
      <button type="button" id="clear" title="Hide the requests received so far (the store keeps them)">Clear</button>
      <span id="count" class="count"></span>
      <span id="leak-filter" class="chip" hidden><span id="leak-filter-text"></span> <button type="button" id="leak-filter-clear" title="Show every request again">Show all</button></span>
    </form>
    <div class="split">
      <div class="list">
        <table id="log">
          <thead><tr><th data-sort="time" class="col-time">Time</th><th data-sort="method" class="col-method">Method</th><th data-sort="route" class="col-route">Route</th><th data-sort="url" class="col-url">URL</th><th data-sort="status" class="col-status">Status</th><th data-sort="duration" class="num col-duration">Duration</th><th data-sort="size" class="num col-size" title="Response body size (request body size in the tooltip of each cell)">Size</th></tr></thead>
          <tbody id="log-body"></tbody>
        </table>
        <p id="empty" class="empty">Waiting for requests. Point the SDK at this collector and call your API.</p>
        <p class="keys muted">Keys: ↑/↓ or j/k move through the requests, Esc closes the detail, / searches.</p>
      </div>
      <aside id="detail" class="detail" hidden aria-label="Request detail"></aside>
    </div>
  </section>
  <section id="catalog-view" aria-label="Endpoints" hidden>
    <table id="catalog">
      <thead><tr><th>Method</th><th>Route</th><th class="num">Count</th><th class="num">Errors</th><th class="num">p50</th><th class="num">p95</th><th class="num">Max</th><th>Last seen</th><th>Request body</th><th>Response body</th></tr></thead>
      <tbody id="catalog-body"></tbody>
    </table>
    <p id="catalog-empty" class="empty">No endpoints yet.</p>
  </section>
  <section id="leaks-view" aria-label="Leaks" hidden>
    <form class="toolbar" id="leak-filters" autocomplete="off">
      <label>Confidence <select id="leaks-confidence">
        <option value="low">all</option><option value="medium">medium and high</option><option value="high">high</option>
      </select></label>
      <label><input type="checkbox" id="leaks-show-dismissed"> show dismissed</label>
      <span id="leaks-count" class="count"></span>
    </form>
    <p class="intro muted">Values that look like secrets or personal data, in fields your redaction rules do not cover: one row per endpoint and field, with the rule that hides it.</p>
    <table id="leaks">
      <thead><tr><th>Confidence</th><th>Finding</th><th>Endpoint</th><th>Where</th><th class="num">Records</th><th>Rule to add</th><th></th></tr></thead>
      <tbody id="leaks-body"></tbody>
    </table>
    <p id="leaks-empty" class="empty">No leak found in the stored records.</p>
  </section>
</main>
<footer class="foot" id="foot"></footer>
</body>
</html>
`;

/** The tab icon (served as /favicon.svg and /favicon.ico, so a browser never gets a 404). */
export const INSPECTOR_FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#3559d8"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>
`;

/** The inspector's stylesheet (light and dark). */
export const INSPECTOR_CSS = `:root {
  --bg: #fbfbfa; --fg: #1d1f23; --muted: #6b7079; --line: #e3e4e8; --panel: #ffffff; --hover: #f1f3f7;
  --sel: #e4ecff; --accent: #3559d8; --ok: #16794c; --redir: #1f6fb2; --warn: #a55b00; --bad: #c42b2b;
  --mark-bg: #ffd84d; --mark-fg: #1d1f23; --code: #f5f5f4;
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171b; --fg: #e6e7ea; --muted: #9aa0aa; --line: #2b2f36; --panel: #1b1e23; --hover: #222630;
    --sel: #23305a; --accent: #8aa6ff; --ok: #4cc38a; --redir: #6cb3f0; --warn: #f0a84a; --bad: #ff6b6b; --code: #111318; }
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--fg); }
body { display: flex; flex-direction: column; }
button, select, input { font: inherit; color: inherit; }
button { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 3px 10px; cursor: pointer; }
button:hover { background: var(--hover); }
button.on { background: var(--sel); border-color: var(--accent); }
select, input { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 3px 6px; }
select { max-width: 16em; }
.top { display: flex; align-items: center; gap: 18px; padding: 8px 14px; border-bottom: 1px solid var(--line); background: var(--panel); }
.top h1 { font-size: 15px; margin: 0; font-weight: 650; }
.top h1 span { color: var(--accent); font-weight: 500; }
.tabs { display: flex; gap: 4px; }
.tab { border-radius: 6px; }
.tab.active { background: var(--sel); border-color: var(--accent); }
.conn { margin: 0 0 0 auto; color: var(--muted); }
.conn.live::before { content: "● "; color: var(--ok); }
.conn.down::before { content: "● "; color: var(--bad); }
.conn.paused::before { content: "❚❚ "; color: var(--warn); }
main { flex: 1; min-height: 0; display: flex; flex-direction: column; }
section { flex: 1; min-height: 0; display: flex; flex-direction: column; }
section[hidden] { display: none; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; padding: 8px 14px; border-bottom: 1px solid var(--line); }
.toolbar label { display: flex; align-items: center; gap: 5px; color: var(--muted); }
.toolbar label.grow { flex: 1; min-width: 180px; }
.toolbar label.grow input { flex: 1; }
.count { color: var(--muted); }
.split { flex: 1; min-height: 0; display: flex; }
.list { flex: 1 1 55%; overflow: auto; min-width: 0; }
.detail { flex: 1 1 45%; overflow: auto; border-left: 1px solid var(--line); background: var(--panel); padding: 10px 14px 30px; min-width: 0; }
.detail[hidden] { display: none; }
table { border-collapse: collapse; width: 100%; }
#log { table-layout: fixed; min-width: 620px; }
#log th { position: sticky; overflow: hidden; text-overflow: clip; }
#log th[data-sort] { cursor: pointer; user-select: none; }
#log th[aria-sort="ascending"]::after { content: " ▲"; font-size: 9px; }
#log th[aria-sort="descending"]::after { content: " ▼"; font-size: 9px; }
#log .col-time { width: 105px; } #log .col-method { width: 80px; } #log .col-route { width: 170px; } #log .col-status { width: 76px; }
#log .col-duration { width: 92px; } #log .col-size { width: 82px; }
.resizer { position: absolute; right: 0; top: 0; bottom: 0; width: 6px; cursor: col-resize; user-select: none; }
.resizer:hover, .resizer.active { background: var(--accent); opacity: .4; }
.keys { padding: 6px 14px; margin: 0; font-size: 11.5px; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 1px 4px 1px 10px; border: 1px solid var(--accent); border-radius: 12px; color: var(--accent); }
.chip[hidden] { display: none; }
#log tbody tr:focus { outline: 2px solid var(--accent); outline-offset: -2px; }
.waterfall { position: relative; height: 6px; margin: 3px 0 2px; background: var(--hover); border-radius: 3px; }
.waterfall .bar { position: absolute; top: 0; bottom: 0; min-width: 2px; background: var(--accent); border-radius: 3px; }
#leaks td { font-size: 12px; }
#leaks tbody tr.dismissed { opacity: .55; }
.confidence { font-weight: 650; text-transform: uppercase; font-size: 11px; }
.c-high { color: var(--bad); } .c-medium { color: var(--warn); } .c-low { color: var(--muted); }
.rule { display: flex; align-items: flex-start; gap: 6px; }
.rule code { background: var(--code); border: 1px solid var(--line); border-radius: 4px; padding: 1px 5px; overflow-wrap: anywhere; }
#leaks td.rule-cell { min-width: 25em; }
#leaks td.where code { white-space: nowrap; }
.detector { color: var(--muted); font-size: 11px; }
mark.leak { background: transparent; color: var(--bad); border-bottom: 2px solid var(--bad); font-weight: 650; }
.leaks-box { border-left: 3px solid var(--bad); padding: 4px 10px; margin: 8px 0; }
.leaks-box li { margin: 2px 0; }
.intro { margin: 8px 14px 0; }
th { position: sticky; top: 0; background: var(--bg); text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 5px 8px; white-space: nowrap; z-index: 1; }
td { padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
#log td { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#log tbody tr { cursor: pointer; }
#log tbody tr:hover { background: var(--hover); }
#log tbody tr.selected { background: var(--sel); }
.time, .muted { color: var(--muted); font-variant-numeric: tabular-nums; }
.method { font-weight: 650; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.route, .url, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.status { font-weight: 650; font-variant-numeric: tabular-nums; }
.s1xx { color: var(--muted); } .s2xx { color: var(--ok); } .s3xx { color: var(--redir); } .s4xx { color: var(--warn); } .s5xx, .sxxx { color: var(--bad); }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px; font-size: 11px; background: var(--hover); color: var(--muted); border: 1px solid var(--line); }
.badge.err { color: var(--bad); border-color: var(--bad); }
.badge.out { color: var(--accent); border-color: var(--accent); }
.empty { color: var(--muted); padding: 20px 14px; margin: 0; }
.empty[hidden] { display: none; }
mark.redacted { background: var(--mark-bg); color: var(--mark-fg); border-radius: 3px; padding: 0 2px; font-weight: 650; }
.detail h2 { font-size: 14px; margin: 4px 0 2px; word-break: break-all; }
.detail h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 16px 0 6px; }
.detail .actions { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.detail dt { color: var(--muted); }
.detail dd { margin: 0; word-break: break-all; }
.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.kv td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 0; overflow: auto; max-height: 420px; white-space: pre-wrap; word-break: break-all; }
.body-meta { color: var(--muted); margin-bottom: 4px; }
.error { border-left: 3px solid var(--bad); padding: 4px 10px; margin-bottom: 8px; }
.error .cause { color: var(--muted); }
.children { border-left: 2px solid var(--accent); margin: 0 0 0 2px; padding-left: 10px; }
.children details { margin: 4px 0; }
.children summary { cursor: pointer; }
.foot { padding: 4px 14px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
#catalog td { font-size: 12px; }
#catalog tbody tr:hover { background: var(--hover); }
.shape { margin: 0; padding: 0; list-style: none; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11.5px; }
.shape .types { color: var(--muted); }
.shape-kinds { color: var(--muted); }
.clickable { cursor: pointer; color: var(--accent); }
.close { float: right; margin: 0 0 6px 10px; }
@media (max-width: 1100px) {
  .split { flex-direction: column; }
  .list { flex: 1 1 50%; }
  .detail { flex: 1 1 50%; border-left: 0; border-top: 1px solid var(--line); }
  .top { flex-wrap: wrap; gap: 8px 18px; }
}
@media (max-width: 860px) {
  #log .col-route, #log td.route { display: none; }
  #catalog .request-shape, #catalog .response-shape { max-width: 40vw; }
}
`;
