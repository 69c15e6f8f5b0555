/**
 * examples/testing/signup-service.ts in plain JavaScript (CommonJS), for the Jest
 * recipes: a signup prices its plan through request/reply and queues a welcome email;
 * the email worker is idempotent and retries for about a week before dead-lettering.
 */
const { Queue, RequestReply } = require('pocketmq');

class SignupService {
  #mailer;
  #sent;
  #worker;

  /** @param {{ storage: import('pocketmq').Storage, mailer: (to: string, subject: string) => Promise<void>, sent?: Set<string> }} options */
  constructor({ storage, mailer, sent = new Set() }) {
    this.emails = new Queue('emails', {
      storage,
      // Retries after 1, 4, 16, 64, 256 and 1024 minutes, then daily: about a week in all.
      maxAttempts: 13,
      backoff: { type: 'exponential', initial: 60_000, factor: 4, max: 86_400_000, jitter: 'none' },
    });
    this.pricing = new RequestReply('pricing', { storage });
    this.#mailer = mailer;
    this.#sent = sent;
  }

  /** Records a signup: queues its welcome email and returns the plan's price. */
  async signup(signupId, email, plan) {
    const price = await this.pricing.request({ plan }, { timeout: 5_000 });
    await this.emails.send({ signupId, to: email }, { dedupeId: signupId });
    return price;
  }

  /** Sends one welcome email, once per signup id however often it is delivered. */
  async deliverWelcome({ signupId, to }) {
    if (this.#sent.has(signupId)) return;
    await this.#mailer(to, 'Welcome!');
    this.#sent.add(signupId);
  }

  start() {
    this.#worker = this.emails.consume((msg) => this.deliverWelcome(msg.body));
  }

  async stop() {
    await this.#worker?.stop();
  }
}

module.exports = { SignupService };
