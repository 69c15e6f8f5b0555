import { ApiError, api, type MessageJson, type MessageState, type QueuesSnapshot, streamQueues, token } from './api-client.js';
import { createConfirm } from './confirm.js';
import { h } from './dom.js';
import { count } from './format.js';
import { createMessagesView } from './messages-view.js';
import { createQueuesView } from './queues-view.js';

const RECONNECT_MS = 2_000;
const MESSAGES_MAX = 50;

const connection = h('p', { class: 'connection', role: 'status' }, 'Connecting…');
const readOnlyBadge = h('p', { class: 'badge', hidden: '' }, 'Read-only: changes are refused');
const notice = h('p', { class: 'notice', role: 'alert', hidden: '' });
const tokenInput = h('input', { type: 'password', id: 'token-input', autocomplete: 'off', required: '' });
const tokenError = h('p', { class: 'error', id: 'token-error' });
const tokenForm = h(
  'form',
  { class: 'token', hidden: '', 'aria-labelledby': 'token-heading' },
  h('h2', { id: 'token-heading' }, 'This dashboard needs its token'),
  h('label', { for: 'token-input' }, 'Dashboard token'),
  tokenInput,
  h('button', { type: 'submit' }, 'Connect'),
  tokenError,
);
const confirm = createConfirm();

function say(text: string, kind: 'ok' | 'error'): void {
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = false;
}

function sayError(action: string, error: unknown): void {
  if (error instanceof ApiError) say(`${action} was refused: ${error.message} (${error.code})`, 'error');
  else say(`${action} failed: ${(error as Error).message}`, 'error');
}

/** Asks, then runs a change and reports how it went; the next snapshot shows its effect. */
async function change<T>(title: string, question: string, action: string, run: () => Promise<T>, done: (result: T) => string): Promise<void> {
  if (!(await confirm.ask(title, question, action))) return;
  try {
    say(done(await run()), 'ok');
    await messages.reload();
  } catch (error) {
    sayError(action, error);
  }
}

const redrive = (name: string) =>
  change(`Redrive ${name}?`, `Every ready message of ${name} goes back to the queue it came from (its x-original-queue header).`, 'Redrive', () => api.redrive(name), (moved) => `Redrove ${count(moved)} message${moved === 1 ? '' : 's'} from ${name}.`);
const purge = (name: string) =>
  change(`Purge ${name}?`, `Every ready and delayed message of ${name} is deleted. This cannot be undone.`, 'Purge', () => api.purge(name), (purged) => `Purged ${count(purged)} message${purged === 1 ? '' : 's'} from ${name}.`);
const remove = (name: string, message: MessageJson) =>
  change(`Remove message ${message.id}?`, `The message is deleted from ${name}. This cannot be undone.`, 'Remove', () => api.remove(name, message.id), (removed) =>
    removed ? `Removed message ${message.id}.` : `Message ${message.id} was not removed: it is in flight or already gone.`,
  );

// Navigation lives in the URL's hash (#queue=orders&state=ready): back and forward work, and a view can be linked to.
function navigate(queue: string | undefined, state: MessageState = 'ready'): void {
  location.hash = queue === undefined ? '' : `queue=${encodeURIComponent(queue)}&state=${state}`;
}
function route(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const queue = params.get('queue');
  const state = params.get('state');
  if (queue === null) messages.hide();
  else void messages.show(queue, state === 'delayed' || state === 'inflight' ? state : 'ready');
}

const queues = createQueuesView({ open: (name) => navigate(name), redrive, purge });
const messages = createMessagesView({
  load: (queue, state) => api.messages(queue, state, MESSAGES_MAX),
  remove,
  redrive,
  purge,
  close: () => navigate(undefined),
});

let lastCounts = '';
function onSnapshot(snapshot: QueuesSnapshot): void {
  connection.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
  connection.classList.remove('offline');
  readOnlyBadge.hidden = !snapshot.readOnly;
  queues.update(snapshot);
  // The open queue's list follows its counts, reloading only when they changed.
  const shown = snapshot.queues.find((q) => q.name === messages.queue);
  const counts = shown === undefined ? '' : JSON.stringify(shown.stats);
  if (shown !== undefined && lastCounts !== '' && counts !== lastCounts) void messages.reload();
  lastCounts = counts;
}

let stream: AbortController | undefined;
async function connect(): Promise<void> {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  try {
    await streamQueues(onSnapshot, (error) => say(`Could not read the queues: ${error.message}`, 'error'), controller.signal);
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof ApiError && error.status === 401) {
      tokenForm.hidden = false;
      tokenError.textContent = token.get() ? error.message : '';
      connection.textContent = 'Waiting for the token';
      tokenInput.focus();
      return;
    }
    if (error instanceof ApiError) {
      connection.textContent = `Refused: ${error.message}`;
      connection.classList.add('offline');
      return;
    }
  }
  if (controller.signal.aborted) return;
  connection.textContent = 'Disconnected · reconnecting…';
  connection.classList.add('offline');
  setTimeout(() => void connect(), RECONNECT_MS);
}

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  token.set(tokenInput.value);
  tokenInput.value = '';
  tokenForm.hidden = true;
  void connect();
  // A linked view (#queue=...) opened before the token was given loads now.
  route();
});

document.body.replaceChildren(
  h('header', { class: 'top' }, h('h1', {}, 'pocketmq'), connection, readOnlyBadge),
  h('main', {}, tokenForm, notice, queues.element, messages.element),
  confirm.element,
);
window.addEventListener('hashchange', route);
route();
void connect();
