// The sandbox console: the control API (under /_sandbox/api/) driven from
// the page, the journal streamed as server-sent events, and the Partner API's
// reference rendered by the vendored Redoc. No build step, no framework.
'use strict';
(function () {
  const $ = (sel) => document.querySelector(sel);
  const api = 'api/';
  // The banner's console URL carries the token in the fragment, which never
  // reaches a server or a log; keep it for this tab and drop it from the URL.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('controlToken', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  let token = sessionStorage.getItem('controlToken') || '';
  const entries = new Map();
  let selected = 0;
  let stream = null;
  let refreshSoon = 0;

  function status(msg, isError) {
    const el = $('#status');
    el.textContent = msg;
    el.className = isError ? 'error' : '';
  }

  async function call(method, path, body) {
    const opts = { method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(api + path, opts);
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 401) {
      $('#token-form').hidden = false;
    }
    if (!resp.ok) {
      throw new Error((data && data.error) || resp.statusText);
    }
    return data;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // --- clock, partners, faults -------------------------------------------
  async function refresh() {
    if (!token) return;
    try {
      const [clock, partners, faults] = await Promise.all([call('GET', 'clock'), call('GET', 'partners'), call('GET', 'faults')]);
      $('#clock-now').textContent = clock.now;
      $('#clock-offset').textContent = clock.offsetSeconds ? '(moved ' + clock.offsetSeconds + ' s ahead)' : '(real time)';
      const tb = $('#partners tbody');
      tb.replaceChildren(...partners.partners.map((p) => {
        const tr = el('tr');
        tr.append(el('td', p.id + ' (' + p.name + ')'),
          el('td', p.window ? p.window.count + ' of ' + p.window.limit + ', ' + p.window.remaining + ' left' : 'no window open'),
          el('td', p.window ? p.window.reset : ''));
        return tr;
      }));
      $('#faults').replaceChildren(...faults.faults.map((f) => el('li',
        '#' + f.id + ' ' + f.operation + (f.partner ? ' for ' + f.partner : '') + ': next ' + f.count + ' → ' +
        (f.drop ? 'dropped' : '') + (f.status || '') + (f.delayMs ? ' after ' + f.delayMs + ' ms' : ''))));
    } catch (e) {
      status(e.message, true);
    }
  }

  async function advance(seconds) {
    try {
      const c = await call('POST', 'clock/advance', { seconds: Number(seconds) });
      status('clock moved to ' + c.now);
      refresh();
    } catch (e) { status(e.message, true); }
  }

  document.querySelectorAll('[data-advance]').forEach((b) => b.addEventListener('click', () => advance(b.dataset.advance)));
  $('#advance-custom').addEventListener('click', () => advance($('#advance-seconds').value));
  $('#reset').addEventListener('click', async () => {
    try {
      const r = await call('POST', 'reset', {});
      status('reset: windows closed, ' + r.tokensRevoked + ' tokens revoked');
      refresh();
    } catch (e) { status(e.message, true); }
  });
  $('#fault-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const kind = $('#fault-kind').value;
    const f = { operation: $('#fault-operation').value, count: Number($('#fault-count').value) || 1 };
    const delay = Number($('#fault-delay').value) || 0;
    if (delay) f.delayMs = delay;
    if (kind === 'drop') f.drop = true;
    else if (kind !== 'delay') f.status = Number(kind);
    if ($('#fault-partner').value) f.partner = $('#fault-partner').value;
    try {
      const got = await call('POST', 'faults', f);
      status('fault #' + got.id + ' pending');
      refresh();
    } catch (e) { status(e.message, true); }
  });
  $('#clear-faults').addEventListener('click', async () => {
    try { await call('DELETE', 'faults'); refresh(); } catch (e) { status(e.message, true); }
  });
  $('#clear-journal').addEventListener('click', async () => {
    try { await call('DELETE', 'journal'); startJournal(); } catch (e) { status(e.message, true); }
  });
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('#token-input').value.trim();
    sessionStorage.setItem('controlToken', token);
    $('#token-form').hidden = true;
    refresh();
    startJournal();
  });

  // --- journal ---------------------------------------------------------------
  function query() {
    const q = new URLSearchParams();
    for (const k of ['partner', 'operation', 'status', 'errorCode']) {
      const v = $('#f-' + k).value.trim();
      if (v) q.set(k, v);
    }
    return q;
  }

  function addRow(e) {
    entries.set(e.seq, e);
    const tr = el('tr');
    tr.dataset.seq = e.seq;
    tr.dataset.status = e.status;
    tr.dataset.operation = e.operation || '';
    const why = e.status >= 400 || e.status === 0 ? (e.error || '') : '';
    tr.append(el('td', e.seq), el('td', e.time.substring(11, 23)), el('td', e.operation || e.method + ' ' + e.path),
      el('td', e.partner || e.client), el('td', e.status === 0 ? 'dropped' : e.status, 's' + Math.floor(e.status / 100)),
      el('td', (e.latencyMicros / 1000).toFixed(1)), el('td', e.remaining === undefined ? '' : e.remaining),
      el('td', why + (e.control ? ' [' + e.control + ']' : ''), 'why'));
    tr.addEventListener('click', () => show(e.seq));
    const tb = $('#journal tbody');
    tb.prepend(tr);
    while (tb.children.length > 500) tb.lastChild.remove();
    clearTimeout(refreshSoon);
    refreshSoon = setTimeout(refresh, 200); // the partner's window changed
  }

  function show(seq) {
    selected = seq;
    document.querySelectorAll('#journal tr.selected').forEach((r) => r.classList.remove('selected'));
    const row = document.querySelector('#journal tr[data-seq="' + seq + '"]');
    if (row) row.classList.add('selected');
    const e = entries.get(seq);
    const d = $('#detail');
    d.replaceChildren();
    if (!e) return;
    d.append(el('h3', '#' + e.seq + ' ' + e.method + ' ' + e.path));
    if (e.status >= 400 || e.status === 0 || e.control) {
      const reason = el('div', '', 'reason');
      reason.append(el('strong', e.status === 0 ? 'connection dropped' : 'why ' + e.status + ': '), el('span', e.error || ''));
      if (e.control) reason.append(el('div', 'control: ' + e.control));
      if (e.errorCode) reason.append(el('div', 'errorCode ' + e.errorCode));
      d.append(reason);
    }
    const facts = [['operation', e.operation], ['partner', e.partner], ['client', e.client], ['time', e.time],
      ['sandbox clock', e.clock], ['latency', (e.latencyMicros / 1000).toFixed(2) + ' ms'],
      ['window', e.limit ? e.remaining + ' of ' + e.limit + ' left, resets ' + e.reset : '']];
    const dl = el('dl');
    for (const [k, v] of facts) if (v) dl.append(el('dt', k), el('dd', v));
    d.append(dl);
    const msg = (title, m, line) => {
      d.append(el('h4', title));
      const text = [line].concat(Object.entries(m.headers || {}).sort().map(([k, v]) => k + ': ' + v)).join('\n') +
        (m.body ? '\n\n' + m.body : '');
      d.append(el('pre', text));
    };
    msg('Request', e.request, e.method + ' ' + e.path);
    if (e.status !== 0) msg('Answer', e.response, String(e.status));
  }

  async function startJournal() {
    if (stream) stream.abort();
    stream = new AbortController();
    const signal = stream.signal;
    entries.clear();
    $('#journal tbody').replaceChildren();
    if (!token) return;
    const q = query();
    try {
      q.set('limit', '200');
      const first = await call('GET', 'journal?' + q);
      first.entries.forEach(addRow);
      q.delete('limit');
      q.set('since', String(first.last));
      const resp = await fetch(api + 'journal/stream?' + q, { headers: { Authorization: 'Bearer ' + token }, signal });
      if (!resp.ok) throw new Error('journal stream: ' + resp.status);
      $('#stream-state').textContent = '(live)';
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) addRow(JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      status(e.message, true);
    }
    if (!signal.aborted) {
      $('#stream-state').textContent = '(reconnecting)';
      setTimeout(startJournal, 1000);
    }
  }
  let filterTimer = 0;
  $('#filters').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(startJournal, 250);
  });

  // --- reference -------------------------------------------------------------
  async function reference() {
    const spec = await fetch('openapi.json').then((r) => r.json());
    $('#base').textContent = spec.servers[0].url;
    const ops = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (op && op.operationId) ops.push(op.operationId);
      }
    }
    for (const sel of ['#fault-operation', '#f-operation']) {
      for (const id of ops) $(sel).append(new Option(id, id));
    }
    Redoc.init(spec, { hideDownloadButton: true, disableSearch: true, expandResponses: '200', nativeScrollbars: true, hideLoading: true }, $('#reference'));
  }

  if (!token) {
    $('#token-form').hidden = false;
    status('paste the control token from the banner', true);
  }
  reference().catch((e) => status('reference: ' + e.message, true));
  refresh();
  startJournal();
  setInterval(refresh, 2000);
})();
