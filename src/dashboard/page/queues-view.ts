import type { QueuesSnapshot, QueueStats } from './api-client.js';
import { h, setText } from './dom.js';
import { count, rate } from './format.js';

/** What the table asks its owner to do. */
export interface QueueActions {
  open(name: string): void;
  redrive(name: string): void;
  purge(name: string): void;
}

interface Row {
  readonly element: HTMLTableRowElement;
  readonly cells: Record<'ready' | 'delayed' | 'inflight' | 'dead' | 'sendRate' | 'ackRate', HTMLTableCellElement>;
}

const DLQ_SUFFIX = '.dlq';
const RATE_WINDOW_MS = 5_000;

/** A queue's dead letters: the ready count of `<name>.dlq`, the default dead-letter queue, when it exists. */
export function deadCount(name: string, byName: ReadonlyMap<string, QueueStats>): number | undefined {
  if (name.endsWith(DLQ_SUFFIX)) return undefined;
  return byName.get(`${name}${DLQ_SUFFIX}`)?.ready;
}

/** The queue table: one row per queue, updated in place on every snapshot. */
export function createQueuesView(actions: QueueActions) {
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty', hidden: '' }, 'No queues yet: a queue shows up once it holds a message or has counters.');
  const filter = h('input', { type: 'search', id: 'queue-filter', placeholder: 'name contains…', autocomplete: 'off' });
  const header = (label: string, title?: string) => h('th', { scope: 'col', title }, label);
  const table = h(
    'table',
    { class: 'queues' },
    h('caption', { class: 'visually-hidden' }, 'Queues with their message counts and rates'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        header('Queue'),
        header('Ready'),
        header('Delayed'),
        header('In flight'),
        header('Dead', 'Ready messages in the queue <name>.dlq'),
        header('Sent', 'Messages sent per second over the last few seconds'),
        header('Acked', 'Messages acknowledged per second over the last few seconds'),
        header('Actions'),
      ),
    ),
    tbody,
  );
  const element = h(
    'section',
    { 'aria-labelledby': 'queues-heading' },
    h('div', { class: 'section-head' }, h('h2', { id: 'queues-heading' }, 'Queues'), h('label', { for: 'queue-filter' }, 'Filter ', filter)),
    table,
    empty,
  );
  const rows = new Map<string, Row>();
  /** Recent snapshots: rates compare the newest with the oldest still within RATE_WINDOW_MS, so they do not flicker between updates. */
  const history: { at: number; stats: Map<string, QueueStats> }[] = [];

  function createRow(name: string): Row {
    const cell = () => h('td', { class: 'number' });
    const cells = { ready: cell(), delayed: cell(), inflight: cell(), dead: cell(), sendRate: cell(), ackRate: cell() };
    const open = h('button', { type: 'button', class: 'link', 'aria-label': `Browse messages of ${name}` }, name);
    open.addEventListener('click', () => actions.open(name));
    const buttons = h('td', { class: 'actions' });
    if (name.endsWith(DLQ_SUFFIX)) {
      const redrive = h('button', { type: 'button', 'aria-label': `Redrive ${name}` }, 'Redrive');
      redrive.addEventListener('click', () => actions.redrive(name));
      buttons.append(redrive);
    }
    const purge = h('button', { type: 'button', class: 'danger', 'aria-label': `Purge ${name}` }, 'Purge');
    purge.addEventListener('click', () => actions.purge(name));
    buttons.append(purge);
    const element = h('tr', { 'data-queue': name }, h('th', { scope: 'row' }, open), cells.ready, cells.delayed, cells.inflight, cells.dead, cells.sendRate, cells.ackRate, buttons);
    return { element, cells };
  }

  function applyFilter(): void {
    const needle = filter.value.trim().toLowerCase();
    for (const [name, row] of rows) row.element.hidden = needle !== '' && !name.toLowerCase().includes(needle);
  }
  filter.addEventListener('input', applyFilter);

  function update(snapshot: QueuesSnapshot): void {
    const at = performance.now();
    const byName = new Map(snapshot.queues.map((q) => [q.name, q.stats]));
    while (history.length > 1 && at - history[1]!.at >= RATE_WINDOW_MS) history.shift();
    const previous = history[0];
    const seconds = previous === undefined ? 0 : (at - previous.at) / 1000;
    for (const [name, row] of rows) {
      if (!byName.has(name)) {
        row.element.remove();
        rows.delete(name);
      }
    }
    let before: Element | null = tbody.firstElementChild;
    for (const { name, stats } of snapshot.queues) {
      let row = rows.get(name);
      if (row === undefined) {
        row = createRow(name);
        rows.set(name, row);
      }
      // Keep rows in the snapshot's (sorted) order, moving only those out of place.
      if (row.element !== before) tbody.insertBefore(row.element, before);
      before = row.element.nextElementSibling;
      const last = previous?.stats.get(name);
      const perSecond = (key: 'sent' | 'acked') => (last === undefined || seconds <= 0 ? undefined : Math.max(0, stats[key] - last[key]) / seconds);
      const dead = deadCount(name, byName);
      setText(row.cells.ready, count(stats.ready));
      setText(row.cells.delayed, count(stats.delayed));
      setText(row.cells.inflight, count(stats.inflight));
      setText(row.cells.dead, dead === undefined ? '–' : count(dead));
      row.cells.dead.classList.toggle('alert', dead !== undefined && dead > 0);
      setText(row.cells.sendRate, rate(perSecond('sent')));
      setText(row.cells.ackRate, rate(perSecond('acked')));
    }
    history.push({ at, stats: byName });
    empty.hidden = snapshot.queues.length > 0;
    applyFilter();
  }

  return { element, update };
}
