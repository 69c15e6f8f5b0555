/**
 * Encrypted and signed bodies on a FileStorage: orders carry card numbers, so the
 * bodies are signed by the checkout service and encrypted before they reach the disk.
 * The key is rotated across a restart, and a message forged by a process without the
 * signing key is dead-lettered, never handled.
 *
 * Run it: npx tsx examples/encryption.ts
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryption, signing } from '../src/crypto.js';
import { FileStorage } from '../src/file.js';
import { Queue } from '../src/index.js';
import { isMain } from './run-main.js';

interface Order {
  orderId: string;
  card: string;
}

export interface EncryptionResult {
  /** Whether any byte under the storage directory holds a card number. */
  cardOnDisk: boolean;
  /** The orders the handler processed, in order. */
  handled: string[];
  /** Why each dead-lettered message was refused. */
  deadReasons: string[];
}

export async function main({ dir, log = () => {} }: { dir?: string; log?: (line: string) => void } = {}): Promise<EncryptionResult> {
  const home = dir ?? mkdtempSync(join(tmpdir(), 'pocketmq-encryption-'));
  const checkout = generateKeyPairSync('ed25519');
  // In production: from a secrets manager, never from the code or the queue directory.
  const keys = { '2026-11': randomBytes(32), '2026-12': randomBytes(32) };
  const sign = signing({ id: 'checkout', privateKey: checkout.privateKey });

  // Before the rotation: the November key encrypts.
  const before = new FileStorage({ dir: home, codec: [sign, encryption({ keys: { '2026-11': keys['2026-11'] }, current: '2026-11' })] });
  const orders = new Queue<Order>('orders', { storage: before });
  await orders.send({ orderId: 'o-1', card: '4111 1111 1111 1111' });
  await orders.send({ orderId: 'o-2', card: '5500 0000 0000 0004' });
  await before.close();
  const cardOnDisk = readdirSync(home).some((name) => readFileSync(join(home, name)).includes('1111 1111'));
  log(`card numbers on disk: ${cardOnDisk ? 'yes' : 'no'}`);

  // A process with the key but not the checkout service's signing key adds an order.
  const forger = new FileStorage({
    dir: home,
    codec: [signing({ id: 'checkout', privateKey: generateKeyPairSync('ed25519').privateKey }), encryption({ keys, current: '2026-12' })],
  });
  await new Queue<Order>('orders', { storage: forger }).send({ orderId: 'o-forged', card: '0000' });
  await forger.close();

  // After the rotation: December encrypts, November still decrypts; only checkout's signature is trusted.
  const verify = signing({ id: 'checkout', privateKey: checkout.privateKey, publicKeys: { checkout: checkout.publicKey } });
  const after = new FileStorage({ dir: home, codec: [verify, encryption({ keys, current: '2026-12' })] });
  const reopened = new Queue<Order>('orders', { storage: after });
  const result: EncryptionResult = { cardOnDisk, handled: [], deadReasons: [] };
  reopened.on('dead', (_msg, reason) => {
    result.deadReasons.push(reason);
    log(`dead-lettered: ${reason}`);
  });
  reopened.on('error', (error) => log(`error: ${error.message}`));
  const consumer = reopened.consume((msg) => {
    result.handled.push(msg.body.orderId);
    log(`charged ${msg.body.orderId} (card ending ${msg.body.card.slice(-4)})`);
  });
  await reopened.idle();
  await consumer.stop();
  // Compaction rewrites what is left with the current key; then November can go.
  await after.compact();
  await after.close();
  if (dir === undefined) rmSync(home, { recursive: true, force: true });
  return result;
}

if (isMain(import.meta.url)) {
  await main({ log: (line) => console.log(line) });
}
