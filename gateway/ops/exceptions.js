// The exceptions inbox of /ops. Unlike the panels fed by /ops/stream (read by the gateway as the
// page's own operator identity), everything here goes through the gateway's /graphql with the
// viewer's key: what a viewer sees is what exceptions:read lets them see, and a suggested fix runs
// with their scopes, checked by the service that owns it, never with the page's.
import { $, cell, credentials, CREDENTIALS_CHANGED, decimal, integer, panel, time } from './page.js';

const GRAPHQL = '/graphql';
/** The inbox is read again this often while the tab is visible (each read is one request under the viewer's rate limit). */
const POLL_MS = 5000;
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];

const LIST = `query OpsExceptions($filter: ExceptionFilterInput, $counted: ExceptionFilterInput) {
  exceptionCounts(filter: $counted) { total byKind { key count } bySeverity { key count } }
  exceptions(filter: $filter, first: 100) {
    edges { node { id kind severity state title cause openSubjects unitsAtRisk valueAtRisk firstSeenAt lastSeenAt team } }
    pageInfo { hasNextPage }
  }
}`;
const DETAIL_FIELDS = `id kind severity state title cause explanation sku openSubjects totalSubjects unitsAtRisk valueAtRisk measure
  channel { id code name } location { id code name }
  team firstSeenAt lastSeenAt acknowledgedBy acknowledgedAt resolvedBy resolvedAt resolution note
  evidenceCount evidence(first: 20) { type id subject at }
  action { kind label operation variables missing }
  history { event state severity actor note at }`;
const DETAIL = `query OpsException($id: ID!) { exception(id: $id) { ${DETAIL_FIELDS} } }`;
const ACKNOWLEDGE = `mutation OpsAcknowledgeException($id: ID!, $note: String) { acknowledgeException(id: $id, note: $note) { ${DETAIL_FIELDS} } }`;
const RESOLVE = `mutation OpsResolveException($id: ID!, $note: String) { resolveException(id: $id, note: $note) { ${DETAIL_FIELDS} } }`;

const money = new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const words = (code) => code.toLowerCase().replaceAll('_', ' ');

/** The selected exception as last read, and whether a move or fix is on its way (the buttons wait for it). */
let selected = null;
let busy = false;
let pollTimer = null;
/** Reads of the list are numbered: an answer overtaken by a later read is dropped, not shown over it. */
let listRead = 0;

/** One operation through the gateway as the viewer; the answer as it came (data and errors). */
async function graphql(query, variables) {
  const response = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...credentials() },
    body: JSON.stringify({ query, variables }),
    cache: 'no-store',
  });
  try {
    return await response.json();
  } catch {
    return { errors: [{ message: `HTTP ${response.status}` }] };
  }
}

/** An error as people read it: its code (FORBIDDEN, CONFLICT, …) and message. */
function failure(errors) {
  const first = errors[0];
  const code = first.extensions && first.extensions.code;
  return code ? `${code}: ${first.message}` : first.message;
}

function age(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

const orDash = (value, format) => (value === null || value === undefined ? '–' : format(value));

function filters() {
  const state = $('filter-state').value;
  const states = state ? [state] : null;
  return {
    // Counts follow the state chosen only: they stay a summary of that inbox while kind and severity narrow the list.
    counted: { states },
    filter: { states, kinds: $('filter-kind').value ? [$('filter-kind').value] : null, minSeverity: $('filter-severity').value || null },
  };
}

function renderCounts(counts) {
  const by = new Map(counts.bySeverity.map((c) => [c.key, c.count]));
  for (const severity of SEVERITIES) document.querySelector(`#exception-severities [data-severity="${severity}"] dd`).textContent = integer.format(by.get(severity) ?? 0);
  $('exception-total').textContent = integer.format(counts.total);
  const kinds = [...counts.byKind].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  $('exception-kinds').replaceChildren(
    ...kinds.map((k) => {
      const li = document.createElement('li');
      li.dataset.kind = k.key;
      const count = document.createElement('strong');
      count.textContent = integer.format(k.count);
      li.append(`${words(k.key)} `, count);
      return li;
    }),
  );
  // The kinds offered are those the inbox holds (and the one chosen): the options change only when
  // that set does, so a poll never resets a select someone is using.
  const kindSelect = $('filter-kind');
  const keys = [...new Set([...kinds.map((k) => k.key), ...(kindSelect.value ? [kindSelect.value] : [])])].sort();
  if (kindSelect.dataset.keys !== keys.join()) {
    const chosen = kindSelect.value;
    kindSelect.replaceChildren(new Option('every kind', ''), ...keys.map((k) => new Option(words(k), k)));
    kindSelect.value = chosen;
    kindSelect.dataset.keys = keys.join();
  }
}

function renderRows(connection) {
  const rows = $('exception-rows');
  // A poll redraws the rows: the row that had the focus gets it back.
  const focused = document.activeElement && rows.contains(document.activeElement) ? document.activeElement.closest('tr').dataset.exceptionId : null;
  const nodes = connection.edges.map((e) => e.node);
  rows.replaceChildren(
    ...nodes.map((x) => {
      const tr = document.createElement('tr');
      tr.dataset.exceptionId = x.id;
      tr.dataset.state = x.state;
      tr.dataset.severity = x.severity;
      if (selected && selected.id === x.id) tr.setAttribute('aria-current', 'true');
      const title = document.createElement('td');
      title.dataset.field = 'title';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'select';
      button.textContent = x.title;
      button.addEventListener('click', () => select(x.id));
      title.append(button);
      tr.append(
        cell('severity', words(x.severity)),
        cell('state', x.state),
        cell('kind', words(x.kind)),
        title,
        cell('cause', x.cause),
        cell('openSubjects', integer.format(x.openSubjects)),
        cell('unitsAtRisk', orDash(x.unitsAtRisk, integer.format)),
        cell('valueAtRisk', orDash(x.valueAtRisk, money.format)),
        cell('age', age(x.firstSeenAt), x.firstSeenAt),
        cell('team', x.team ?? '–'),
      );
      return tr;
    }),
  );
  if (focused) rows.querySelector(`tr[data-exception-id="${focused}"] button`)?.focus();
  $('exceptions-empty').hidden = nodes.length > 0;
  $('exceptions-more').hidden = !connection.pageInfo.hasNextPage;
  // The selected exception moved on (someone else acknowledged it, it escalated or cleared): read it again.
  const current = selected && nodes.find((x) => x.id === selected.id);
  if (current && !busy && (current.state !== selected.state || current.severity !== selected.severity || current.lastSeenAt !== selected.lastSeenAt || current.team !== selected.team)) {
    loadDetail(selected.id);
  }
}

/** Reads the counts and the list again, then again after POLL_MS while the tab is visible. */
async function loadInbox() {
  clearTimeout(pollTimer);
  const read = ++listRead;
  let result;
  try {
    const body = await graphql(LIST, filters());
    result = body.data ? { ok: true, data: body.data } : { ok: false, error: failure(body.errors ?? [{ message: 'no answer' }]) };
  } catch (err) {
    result = { ok: false, error: err.message };
  }
  if (read !== listRead) return;
  panel('exceptions', result, (data) => {
    renderCounts(data.exceptionCounts);
    renderRows(data.exceptions);
  });
  if (document.visibilityState === 'visible') pollTimer = setTimeout(loadInbox, POLL_MS);
}

function report(outcome, text) {
  const el = $('exception-result');
  el.dataset.outcome = outcome;
  el.textContent = text;
}

function fact(dl, field, label, value) {
  if (value === null || value === undefined || value === '') return;
  const div = document.createElement('div');
  div.dataset.field = field;
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = String(value);
  div.append(dt, dd);
  dl.append(div);
}

const by = (who, at) => (at ? `${who ?? 'the system'}, ${new Date(at).toLocaleString()}` : null);

/** The fix's inputs for what the person must add; values typed so far survive a redraw of the same fix. */
function renderAction(x) {
  const action = x.action;
  $('detail-no-action').hidden = !!action;
  $('detail-action').hidden = !action;
  if (!action) return;
  $('detail-operation').textContent = action.operation;
  const variables = $('detail-variables');
  variables.replaceChildren();
  for (const [name, value] of Object.entries(JSON.parse(action.variables))) fact(variables, name, name, JSON.stringify(value));
  const missing = $('detail-missing');
  const key = `${x.id}|${action.missing.join()}`;
  if (missing.dataset.key !== key) {
    missing.dataset.key = key;
    missing.replaceChildren(
      ...action.missing.map((name) => {
        const div = document.createElement('div');
        div.className = 'variable';
        const label = document.createElement('label');
        label.htmlFor = `action-var-${name}`;
        label.textContent = `${name} (you choose it)`;
        const input = document.createElement('input');
        input.id = `action-var-${name}`;
        input.dataset.variable = name;
        input.required = true;
        input.spellcheck = false;
        div.append(label, input);
        return div;
      }),
    );
  }
  const act = $('exception-act');
  act.textContent = action.label;
  act.dataset.kind = action.kind;
}

function renderDetail(x) {
  selected = x;
  const article = $('exception-detail');
  article.hidden = false;
  article.dataset.exceptionId = x.id;
  article.dataset.state = x.state;
  $('detail-title').textContent = x.title;
  $('detail-explanation').textContent = x.explanation;
  const facts = $('detail-facts');
  facts.replaceChildren();
  fact(facts, 'state', 'state', x.resolution ? `${x.state} (${words(x.resolution)})` : x.state);
  fact(facts, 'severity', 'severity', words(x.severity));
  fact(facts, 'kind', 'kind', words(x.kind));
  fact(facts, 'cause', 'cause', x.cause);
  fact(facts, 'sku', 'SKU', x.sku);
  fact(facts, 'channel', 'channel', x.channel && (x.channel.code ? `${x.channel.code} (${x.channel.name})` : x.channel.id));
  fact(facts, 'location', 'location', x.location && (x.location.code ? `${x.location.code} (${x.location.name})` : x.location.id));
  fact(facts, 'subjects', 'open subjects', `${integer.format(x.openSubjects)} of ${integer.format(x.totalSubjects)}`);
  fact(facts, 'unitsAtRisk', 'units at risk', x.unitsAtRisk === null ? null : integer.format(x.unitsAtRisk));
  fact(facts, 'valueAtRisk', 'value at risk', x.valueAtRisk === null ? null : money.format(x.valueAtRisk));
  fact(facts, 'measure', 'measured', x.measure === null ? null : decimal.format(x.measure));
  fact(facts, 'team', 'team', x.team);
  fact(facts, 'firstSeenAt', 'first seen', new Date(x.firstSeenAt).toLocaleString());
  fact(facts, 'lastSeenAt', 'last seen', new Date(x.lastSeenAt).toLocaleString());
  fact(facts, 'acknowledged', 'acknowledged by', by(x.acknowledgedBy, x.acknowledgedAt));
  fact(facts, 'resolved', 'resolved by', by(x.resolvedBy, x.resolvedAt));
  fact(facts, 'note', 'note', x.note);
  renderAction(x);

  $('detail-evidence-count').textContent = x.evidenceCount > x.evidence.length ? `(newest ${x.evidence.length} of ${integer.format(x.evidenceCount)})` : '';
  $('detail-evidence').replaceChildren(
    ...x.evidence.map((e) => {
      const tr = document.createElement('tr');
      tr.append(cell('type', words(e.type)), cell('id', e.id), cell('subject', e.subject), cell('at', time(e.at), e.at));
      return tr;
    }),
  );
  $('detail-history').replaceChildren(
    ...x.history.map((h) => {
      const li = document.createElement('li');
      li.dataset.event = h.event;
      const at = document.createElement('time');
      at.dateTime = h.at;
      at.textContent = new Date(h.at).toLocaleString();
      li.append(at, ` ${words(h.event)} → ${h.state}, ${words(h.severity)}${h.actor ? ` by ${h.actor}` : ''}${h.note ? `: ${h.note}` : ''}`);
      return li;
    }),
  );
  for (const tr of $('exception-rows').children) {
    if (tr.dataset.exceptionId === x.id) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
  enableButtons();
}

function enableButtons() {
  const state = selected ? selected.state : 'RESOLVED';
  // Acknowledging twice changes nothing and a resolved exception takes no move (a recurrence is a new one).
  $('exception-ack').disabled = busy || state !== 'OPEN';
  $('exception-resolve').disabled = busy || state === 'RESOLVED';
  $('exception-act').disabled = busy || state === 'RESOLVED' || !(selected && selected.action);
}

async function loadDetail(id) {
  try {
    const body = await graphql(DETAIL, { id });
    if (body.errors && !(body.data && body.data.exception)) return report('refused', failure(body.errors));
    if (!body.data.exception) return report('refused', `Exception ${id} no longer exists.`);
    renderDetail(body.data.exception);
  } catch (err) {
    report('refused', err.message);
  }
}

function select(id) {
  if (!selected || selected.id !== id) {
    report('', '');
    $('exception-note').value = '';
  }
  selected = selected && selected.id === id ? selected : { id, state: 'RESOLVED' };
  enableButtons();
  loadDetail(id);
}

/** A move, a fix or anything else that changes the exception: one at a time, then the inbox is read again. */
async function change(work) {
  if (busy || !selected) return;
  busy = true;
  enableButtons();
  try {
    await work();
  } catch (err) {
    report('refused', err.message);
  } finally {
    busy = false;
    enableButtons();
    loadInbox();
  }
}

function move(mutation, field, done) {
  return change(async () => {
    const note = $('exception-note').value.trim() || null;
    const body = await graphql(mutation, { id: selected.id, note });
    if (body.errors && body.errors.length) return report('refused', failure(body.errors));
    $('exception-note').value = '';
    renderDetail(body.data[field]);
    report('ok', done);
  });
}

/** The variable's declared type in the operation (`Int` of `$units: Int!`): what a typed value becomes. */
function declaredType(operation, name) {
  const match = new RegExp(`\\$${name}\\s*:\\s*\\[?\\s*(\\w+)`).exec(operation);
  return match ? match[1] : 'String';
}

function typed(value, type) {
  if (type === 'Int') {
    if (!/^-?\d+$/.test(value)) throw new Error('a whole number');
    return Number(value);
  }
  if (type === 'Float') {
    if (!Number.isFinite(Number(value))) throw new Error('a number');
    return Number(value);
  }
  if (type === 'Boolean') {
    if (value !== 'true' && value !== 'false') throw new Error('true or false');
    return value === 'true';
  }
  return value;
}

/** Runs the suggested fix as the viewer, once every variable it needs is there. */
function act() {
  if (!selected || !selected.action) return;
  const action = selected.action;
  const variables = JSON.parse(action.variables);
  for (const input of $('detail-missing').querySelectorAll('input[data-variable]')) {
    const name = input.dataset.variable;
    const value = input.value.trim();
    if (!value) {
      report('refused', `Enter ${name} first: "${action.label}" needs it.`);
      input.focus();
      return;
    }
    try {
      variables[name] = typed(value, declaredType(action.operation, name));
    } catch (err) {
      report('refused', `${name} must be ${err.message}.`);
      input.focus();
      return;
    }
  }
  return change(async () => {
    const id = selected.id;
    const body = await graphql(action.operation, variables);
    if (body.errors && body.errors.length) report('refused', `${action.label}: ${failure(body.errors)}`);
    else report('ok', `${action.label}: done ${JSON.stringify(body.data)}. The exception resolves itself once the service that owns it reports the cause cleared.`);
    await loadDetail(id);
  });
}

$('exception-ack').addEventListener('click', () => move(ACKNOWLEDGE, 'acknowledgeException', 'Acknowledged: you are on it.'));
$('exception-resolve').addEventListener('click', () => move(RESOLVE, 'resolveException', 'Resolved.'));
$('exception-act').addEventListener('click', act);
$('exception-filter').addEventListener('change', () => loadInbox());
$('exception-filter').addEventListener('submit', (event) => event.preventDefault());
$('exception-moves').addEventListener('submit', (event) => event.preventDefault());
// Arrow keys move between the exceptions of the list; Enter (the row's button) selects one.
$('exception-rows').addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const buttons = [...$('exception-rows').querySelectorAll('button.select')];
  const next = buttons[buttons.indexOf(document.activeElement) + (event.key === 'ArrowDown' ? 1 : -1)];
  if (next) {
    event.preventDefault();
    next.focus();
  }
});
// Escape leaves the detail for the row it shows.
$('exception-detail').addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || !selected) return;
  document.querySelector(`#exception-rows tr[data-exception-id="${selected.id}"] button`)?.focus();
});
document.addEventListener(CREDENTIALS_CHANGED, () => {
  loadInbox();
  if (selected) loadDetail(selected.id);
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') loadInbox();
  else clearTimeout(pollTimer);
});
loadInbox();
