import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ResolvedDashboardOptions } from './options.js';

/** Why a request is refused: the status and the API's error code and message. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

const isLoopbackAddress = (address: string | undefined) =>
  address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));

/** A Host naming another machine means a page on another site resolved its own name to us (DNS rebinding). */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Compared by digest so neither the length nor a prefix of the token leaks through timing. */
function sameToken(given: string, token: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Who may do what. With a token: every API request must carry it in the Authorization
 * header (a header, never a cookie, so another site cannot make a browser send it).
 * Without one: loopback clients only, and no change.
 */
export function refusalOf(req: IncomingMessage, options: ResolvedDashboardOptions, scope: 'page' | 'read' | 'change'): Refusal | undefined {
  const { token } = options;
  if (token === undefined) {
    if (!isLoopbackAddress(req.socket?.remoteAddress) || !isLoopbackHost(req.headers.host)) {
      return { status: 403, code: 'ERR_FORBIDDEN', message: 'This dashboard has no token, so it answers loopback clients (127.0.0.1, ::1, localhost) only' };
    }
  } else if (scope !== 'page') {
    const given = bearer(req);
    if (given === undefined || !sameToken(given, token)) {
      return {
        status: 401,
        code: 'ERR_UNAUTHORIZED',
        message: given === undefined ? 'Send the dashboard token as "Authorization: Bearer <token>"' : 'The token is not this dashboard\'s',
        headers: { 'www-authenticate': 'Bearer realm="pocketmq"' },
      };
    }
  }
  if (scope !== 'change') return undefined;
  if (token === undefined || options.readOnly) {
    const why = token === undefined ? 'it was started without a token' : 'it was started with readOnly: true';
    return { status: 403, code: 'ERR_READ_ONLY', message: `This dashboard is read-only: ${why}` };
  }
  // A form on another site can POST to us without a preflight, but never with this type.
  const type = req.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
    return { status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: 'A change must be sent with "content-type: application/json"' };
  }
  return undefined;
}
