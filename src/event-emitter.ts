import { EventEmitter } from 'eventemitter3';

/**
 * eventemitter3's class under a plain binding, for Queue, Topic and RequestReply to extend.
 * Bundled, eventemitter3 is CommonJS, so its class is read as a property
 * (`import_eventemitter3.EventEmitter`); bundlers keep a class that extends a property read
 * even when nothing uses it, and every importer of `Queue` got `Topic` and `RequestReply` too.
 * A class that extends this binding is dropped when unused.
 */
export const Emitter: typeof EventEmitter = EventEmitter;
