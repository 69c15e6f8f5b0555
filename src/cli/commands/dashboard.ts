import { once } from 'node:events';
import { createServer } from 'node:http';
import { dashboard as dashboardHandler } from '../../dashboard/handler.js';
import { PocketMQError, ReadOnlyError } from '../../errors.js';
import type { FileStorage } from '../../file/file-storage.js';
import { integerOption, noArguments, stringOption } from '../arguments.js';
import type { Command } from '../command.js';
import { usageError } from '../exit-codes.js';
import { json } from '../output.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/;

export const dashboard: Command = {
  name: 'dashboard',
  summary: 'Serve the web dashboard of a storage',
  usage: '[--port N] [--host H] [--token T] [--read-only]',
  description:
    'Opens the storage and serves the pocketmq/dashboard page and JSON API on http://HOST:PORT/ until stopped with Ctrl-C. Without a token it answers loopback clients only and refuses changes; with --token (or PMQ_TOKEN) changes need it. A --file directory another process holds is refused (exit 3): mount the dashboard in that process instead.',
  options: {
    port: { type: 'string', value: 'N', help: 'Port to listen on (0 picks a free one). Default 4000.' },
    host: { type: 'string', value: 'H', help: 'Address to listen on. Default 127.0.0.1.' },
    'read-only': { type: 'boolean', help: 'Refuse every change, even with the token.' },
  },
  examples: ['pocketmq dashboard --file ./queues', 'PMQ_TOKEN=s3cret pocketmq dashboard --redis redis://localhost:6379 --port 8080'],
  async run(context) {
    noArguments(context, 'dashboard');
    const port = integerOption(context, 'port', 0, 65_535, 4_000);
    const host = stringOption(context, 'host') ?? '127.0.0.1';
    const { token } = context.place;
    if (context.place.url !== undefined) throw usageError('--url', 'dashboard serves a storage: give --file DIR or --redis URL');
    const { storage, heldBy } = await context.openStorage();
    if (heldBy) {
      const owner = heldBy.pid === undefined ? 'another process' : `process ${heldBy.pid}`;
      throw new ReadOnlyError(
        'dashboard',
        `dashboard refused: ${(storage as FileStorage).dir} is held by ${owner}; mount pocketmq/dashboard in that process and use --url, or read it here with ls, peek and stats`,
      );
    }
    if (!token && !LOOPBACK.test(host)) context.note(`without --token the dashboard answers loopback clients only, so clients reaching ${host} from elsewhere get 403`);
    const readOnly = context.values['read-only'] === true;
    const handler = dashboardHandler({ storage, readOnly, ...(token ? { token } : {}) });
    const server = createServer(handler);
    server.listen(port, host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      throw new PocketMQError('ERR_LISTEN', `--port ${port} --host ${host}: cannot listen (${(error as Error).message})`, { cause: error });
    }
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
    const changes = !token || readOnly ? 'read-only' : 'changes need the token';
    context.streams.stdout.write(context.json ? json({ url, readOnly: !token || readOnly }) : `Dashboard on ${url} (${changes}); Ctrl-C to stop.\n`);
    const stop = context.stopSignal();
    if (!stop.aborted) await once(stop, 'abort');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  },
};
