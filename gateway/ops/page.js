// The ops page: reads /ops/stream (Server-Sent Events) with fetch, so the API key travels in a
// header, never in the URL; polls /ops/data where a streamed body cannot be read. Plain DOM, no
// dependency, nothing loaded from elsewhere. A module (strict by itself): the exceptions inbox
// (exceptions.js) imports the sign-in and the rendering helpers below instead of repeating them.

const KEY_STORAGE = 'omnistock.ops.key';
const POLL_MS = 2000;
export const $ = (id) => document.getElementById(id);

let controller = null;
let retryTimer = null;
let refreshMs = POLL_MS;

export function credentials() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { authorization: `Bearer ${key}` } : {};
}

function setStatus(state, text) {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = text;
}

function showAccess(message) {
  const el = $('access');
  el.hidden = !message;
  el.textContent = message || '';
}

export const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
export const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 1000 ? `${integer.format(ms)} ms` : `${decimal.format(ms / 1000)} s`;
}

export function cell(field, text, at) {
  const td = document.createElement('td');
  td.dataset.field = field;
  td.textContent = String(text);
  // The exact instant behind a time shown to the second.
  if (at !== undefined) td.dataset.at = at || '';
  return td;
}

/** Shows a panel's figures, or that its source is unavailable (the other panels stay as they are). */
export function panel(name, result, render) {
  const section = document.querySelector(`[data-panel="${name}"]`);
  const note = section.querySelector('.unavailable');
  section.dataset.available = String(result.ok);
  note.hidden = result.ok;
  note.textContent = result.ok ? '' : `unavailable: ${result.error}`;
  if (result.ok) render(result.data);
}

function renderStock(s) {
  $('stock-rate-10s').textContent = decimal.format(s.perSecond10s);
  $('stock-rate-60s').textContent = decimal.format(s.perSecondMinute);
  $('stock-count-10s').textContent = integer.format(s.last10s);
  $('stock-count-60s').textContent = integer.format(s.lastMinute);
  $('stock-stream-length').textContent = integer.format(s.streamLength) + (s.catchingUp ? ' (catching up)' : '');
}

function renderRefusals(r) {
  $('refused-minute').textContent = integer.format(r.lastMinute);
  $('refused-total').textContent = integer.format(r.total);
  // Rates come from successive samples: right after the page opens they cover less than a minute.
  $('refused-minute-label').textContent = r.windowSeconds < 60 ? `last minute (sampled over ${r.windowSeconds} s so far)` : 'last minute';
  const note = $('refusals-note');
  note.hidden = r.counted;
  note.textContent = r.counted ? '' : 'The gateway does not count refusals yet: shown as zero.';
  $('refusal-rows').replaceChildren(
    ...r.reasons.map((x) => {
      const tr = document.createElement('tr');
      tr.dataset.reason = x.reason;
      tr.append(cell('reason', x.reason), cell('lastMinute', integer.format(x.lastMinute)), cell('total', integer.format(x.total)));
      return tr;
    }),
  );
}

function renderChannels(channels) {
  $('channels-empty').hidden = channels.length > 0;
  $('channel-rows').replaceChildren(
    ...channels.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.channel = c.code;
      tr.dataset.channelId = c.id;
      tr.dataset.health = c.healthy ? 'ok' : 'unhealthy';
      const drift = c.lastDriftRun;
      const driftText = drift
        ? drift.error
          ? `failed ${time(drift.startedAt)}: ${drift.error}`
          : `${time(drift.startedAt)}: ${integer.format(drift.drifted)} of ${integer.format(drift.checked)} drifted${drift.finishedAt ? '' : ' (running)'}`
        : '–';
      tr.append(
        cell('code', `${c.code}${c.status === 'ACTIVE' ? '' : ` (${c.status.toLowerCase()})`}`),
        cell('marketplace', c.marketplace ?? '–'),
        // An unhealthy connection's pushes wait (nothing is dead-lettered): the problem is the thing to fix.
        cell('health', c.healthy || !c.problem ? 'ok' : `${c.problem.code} since ${time(c.problem.since)}: ${c.problem.message}; pushes wait`, c.problem ? c.problem.since : undefined),
        cell('backlog', integer.format(c.backlog)),
        cell('lagP95', duration(c.lagP95Ms)),
        cell('deadLetters', integer.format(c.deadLetters)),
        cell('throttles', c.throttles ? `${integer.format(c.throttles)} (last ${time(c.lastThrottledAt)})` : '0'),
        cell('lastPush', time(c.lastPushAt), c.lastPushAt),
        cell('lastDrift', driftText),
      );
      return tr;
    }),
  );
}

function renderReconciliation(r) {
  $('reconciliation-empty').hidden = r.runs.length > 0;
  $('reconciliation-rows').replaceChildren(
    ...r.runs.map((run) => {
      const tr = document.createElement('tr');
      tr.dataset.run = run.id;
      const rate = run.linesChecked ? `${decimal.format((100 * run.driftCount) / run.linesChecked)} %` : '–';
      tr.append(
        cell('createdAt', new Date(run.createdAt).toLocaleString()),
        cell('source', run.source),
        cell('linesChecked', integer.format(run.linesChecked)),
        cell('driftCount', integer.format(run.driftCount)),
        cell('driftRate', rate),
        cell('applied', run.applied ? 'corrected' : 'reported'),
      );
      return tr;
    }),
  );
}

function render(snapshot) {
  refreshMs = snapshot.refreshMs || POLL_MS;
  panel('stock', snapshot.stock, renderStock);
  panel('refusals', snapshot.refusals, renderRefusals);
  panel('channels', snapshot.channels, renderChannels);
  panel('reconciliation', snapshot.reconciliation, renderReconciliation);
  const updated = $('updated');
  updated.dateTime = snapshot.at;
  updated.textContent = time(snapshot.at);
}

/** A 401/403 answer: say why and wait for a key (retrying would only be refused again). */
async function refused(response) {
  let message = `refused (${response.status})`;
  try {
    const body = await response.json();
    const error = body.errors && body.errors[0];
    if (error) message = `${error.extensions && error.extensions.code}: ${error.message}`;
  } catch {
    // Not JSON: keep the status.
  }
  setStatus('refused', 'no access');
  showAccess(message);
  $('key').focus();
}

function retryLater(run) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(run, refreshMs);
}

/** Splits an SSE body into events and renders each snapshot. */
async function readStream(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (event === 'snapshot' && data.length) {
        render(JSON.parse(data.join('\n')));
        setStatus('live', 'live');
      }
    }
  }
}

async function stream() {
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  try {
    const response = await fetch('/ops/stream', { headers: { accept: 'text/event-stream', ...credentials() }, cache: 'no-store', signal });
    if (response.status === 401 || response.status === 403) return refused(response);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    showAccess('');
    if (!response.body || typeof TextDecoderStream === 'undefined') return poll();
    await readStream(response.body);
    // The gateway ended the stream (a restart): connect again.
    if (!signal.aborted) {
      setStatus('error', 'reconnecting…');
      retryLater(stream);
    }
  } catch (err) {
    if (signal.aborted) return;
    setStatus('error', `disconnected (${err.message}); retrying`);
    retryLater(stream);
  }
}

/** The fallback where a streamed body cannot be read: one request per tick. */
async function poll() {
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  try {
    const response = await fetch('/ops/data', { headers: credentials(), cache: 'no-store', signal });
    if (response.status === 401 || response.status === 403) return refused(response);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    showAccess('');
    render(await response.json());
    setStatus('live', 'live (polling)');
  } catch (err) {
    if (signal.aborted) return;
    setStatus('error', `disconnected (${err.message}); retrying`);
  }
  retryLater(poll);
}

function start() {
  clearTimeout(retryTimer);
  setStatus('connecting', 'connecting…');
  stream();
}

/** Told on `document` when the key changes: what reads with the key (the exceptions inbox) reads again. */
export const CREDENTIALS_CHANGED = 'ops:credentials';

$('credentials').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  $('key').value = '';
  start();
  document.dispatchEvent(new Event(CREDENTIALS_CHANGED));
});
$('forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  start();
  document.dispatchEvent(new Event(CREDENTIALS_CHANGED));
});
start();
