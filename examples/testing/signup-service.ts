/**
 * The small service that docs/testing-your-code.md tests: a signup sends a welcome
 * email through a queue, prices the plan through request/reply, and the email worker
 * is idempotent (a redelivered message sends no second email).
 *
 * It takes its storage (and its mailer) as arguments: a test passes a MemoryStorage on
 * a TestClock, production a FileStorage or RedisStorage on the system clock.
 */
import { type Consumer, Queue, RequestReply, type Storage } from '../../src/index.js';

export interface WelcomeEmail {
  /** Unique per signup: the idempotency key. */
  readonly signupId: string;
  readonly to: string;
}

export interface PriceRequest {
  readonly plan: 'free' | 'pro';
}

export interface Price {
  readonly cents: number;
}

/** Sends an email; throws when the mail server refuses it. */
export type Mailer = (to: string, subject: string) => Promise<void>;

export interface SignupServiceOptions {
  readonly storage: Storage;
  readonly mailer: Mailer;
  /** Signup ids whose welcome email went out (a database table in a real service). */
  readonly sent?: Set<string>;
}

export class SignupService {
  readonly emails: Queue<WelcomeEmail>;
  readonly pricing: RequestReply<PriceRequest, Price>;
  readonly #mailer: Mailer;
  readonly #sent: Set<string>;
  #worker: Consumer<WelcomeEmail> | undefined;

  constructor({ storage, mailer, sent = new Set() }: SignupServiceOptions) {
    this.emails = new Queue<WelcomeEmail>('emails', {
      storage,
      // Retries after 1, 4, 16, 64, 256 and 1024 minutes, then daily: about a week in all.
      maxAttempts: 13,
      backoff: { type: 'exponential', initial: 60_000, factor: 4, max: 86_400_000, jitter: 'none' },
    });
    this.pricing = new RequestReply<PriceRequest, Price>('pricing', { storage });
    this.#mailer = mailer;
    this.#sent = sent;
  }

  /** Records a signup: queues its welcome email and returns the plan's price. */
  async signup(signupId: string, email: string, plan: PriceRequest['plan']): Promise<Price> {
    const price = await this.pricing.request({ plan }, { timeout: 5_000 });
    await this.emails.send({ signupId, to: email }, { dedupeId: signupId });
    return price;
  }

  /** Sends one welcome email, once per signup id however often it is delivered. */
  async deliverWelcome({ signupId, to }: WelcomeEmail): Promise<void> {
    // At-least-once delivery: a message can come twice, the email must not.
    if (this.#sent.has(signupId)) return;
    await this.#mailer(to, 'Welcome!');
    this.#sent.add(signupId);
  }

  /** Starts the email worker. */
  start(): void {
    this.#worker = this.emails.consume((msg) => this.deliverWelcome(msg.body));
  }

  async stop(): Promise<void> {
    await this.#worker?.stop();
  }
}
