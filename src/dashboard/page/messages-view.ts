import type { MessageJson, MessageState } from './api-client.js';
import { h } from './dom.js';
import { bodyText, time } from './format.js';

/** What the browser asks its owner to do. */
export interface MessageActions {
  load(queue: string, state: MessageState): Promise<MessageJson[]>;
  remove(queue: string, message: MessageJson): void;
  redrive(queue: string): void;
  purge(queue: string): void;
  close(): void;
}

const STATES: { state: MessageState; label: string }[] = [
  { state: 'ready', label: 'Ready' },
  { state: 'delayed', label: 'Delayed' },
  { state: 'inflight', label: 'In flight' },
];

/** Headers a dead letter carries its story in (DEAD_LETTER_HEADERS in the core). */
const isDeadHeader = (name: string) => name.startsWith('x-dead-') || name === 'x-original-queue' || name === 'x-attempts';

/** `x-dead-at` is ms since the epoch: shown with its date as well. */
const headerText = (name: string, value: string) => (name === 'x-dead-at' && /^\d+$/.test(value) ? `${value} (${time(Number(value))})` : value);

function field(label: string, value: string): Node[] {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function messageCard(queue: string, message: MessageJson, actions: MessageActions): HTMLElement {
  const headingId = `message-${message.id}`;
  const facts = h(
    'dl',
    { class: 'facts' },
    ...field('Attempts', String(message.attempt)),
    ...field('Enqueued', time(message.enqueuedAt)),
    ...field(message.state === 'delayed' ? 'Available at' : 'Available since', time(message.availableAt)),
    ...(message.leaseUntil === null ? [] : field('Lease until', time(message.leaseUntil))),
    ...field('Priority', String(message.priority)),
    ...(message.group === null ? [] : field('Group', message.group)),
    ...(message.correlationId === null ? [] : field('Correlation id', message.correlationId)),
  );
  const headerNames = Object.keys(message.headers).sort((a, b) => Number(isDeadHeader(b)) - Number(isDeadHeader(a)) || a.localeCompare(b));
  const dead = headerNames.some(isDeadHeader);
  const headers =
    headerNames.length === 0
      ? h('p', { class: 'muted' }, 'No headers')
      : h(
          'dl',
          { class: 'headers' },
          ...headerNames.flatMap((name) => [h('dt', { class: isDeadHeader(name) ? 'dead-header' : undefined }, name), h('dd', { class: isDeadHeader(name) ? 'dead-header' : undefined }, headerText(name, message.headers[name]!))]),
        );
  const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove message ${message.id}` }, 'Remove');
  if (message.state === 'inflight') {
    remove.disabled = true;
    remove.title = 'A message in flight belongs to its consumer until it is settled';
  }
  remove.addEventListener('click', () => actions.remove(queue, message));
  return h(
    'article',
    { class: dead ? 'message dead' : 'message', 'aria-labelledby': headingId, 'data-message-id': message.id },
    h('header', {}, h('h3', { id: headingId }, h('code', {}, message.id)), dead ? h('span', { class: 'badge dead' }, 'dead letter') : null, remove),
    facts,
    h('h4', {}, 'Headers'),
    headers,
    h('h4', {}, 'Body'),
    h('pre', { class: 'body', tabindex: '0' }, bodyText(message.body)),
  );
}

/** The message browser of one queue: a state switch, actions on the queue, and its messages. */
export function createMessagesView(actions: MessageActions) {
  const title = h('h2', { id: 'messages-heading', tabindex: '-1' });
  const status = h('p', { class: 'muted', role: 'status' });
  const list = h('div', { class: 'messages' });
  const stateButtons = STATES.map(({ state, label }) => {
    const button = h('button', { type: 'button', 'aria-pressed': 'false', 'data-state': state }, label);
    button.addEventListener('click', () => void show(queue, state));
    return button;
  });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const redrive = h('button', { type: 'button' }, 'Redrive all');
  const purge = h('button', { type: 'button', class: 'danger' }, 'Purge');
  const back = h('button', { type: 'button', class: 'link' }, '← All queues');
  refresh.addEventListener('click', () => void show(queue, state));
  redrive.addEventListener('click', () => actions.redrive(queue));
  purge.addEventListener('click', () => actions.purge(queue));
  back.addEventListener('click', () => actions.close());
  const element = h(
    'section',
    { 'aria-labelledby': 'messages-heading', hidden: '' },
    back,
    h('div', { class: 'section-head' }, title, h('div', { class: 'toolbar' }, refresh, redrive, purge)),
    h('div', { role: 'group', 'aria-label': 'Message state', class: 'states' }, ...stateButtons),
    status,
    list,
  );
  let queue = '';
  let state: MessageState = 'ready';
  let loading = 0;

  async function show(name: string, newState: MessageState = state): Promise<void> {
    const opening = name !== queue || element.hidden;
    queue = name;
    state = newState;
    element.hidden = false;
    title.textContent = `Messages in ${name}`;
    for (const button of stateButtons) button.setAttribute('aria-pressed', String(button.dataset.state === state));
    if (opening) title.focus();
    const ticket = ++loading;
    status.textContent = 'Loading…';
    try {
      const messages = await actions.load(name, state);
      if (ticket !== loading) return;
      list.replaceChildren(...messages.map((m) => messageCard(name, m, actions)));
      const label = STATES.find((s) => s.state === state)!.label.toLowerCase();
      status.textContent = messages.length === 0 ? `No ${label} messages.` : `${messages.length} ${label} message${messages.length === 1 ? '' : 's'} (oldest first).`;
    } catch (error) {
      if (ticket !== loading) return;
      list.replaceChildren();
      status.textContent = `Could not load the messages: ${(error as Error).message}`;
    }
  }

  return {
    element,
    show,
    hide: () => {
      element.hidden = true;
      queue = '';
    },
    /** The queue shown, or '' when the browser is closed. */
    get queue() {
      return element.hidden ? '' : queue;
    },
    reload: () => (element.hidden ? Promise.resolve() : show(queue, state)),
  };
}
