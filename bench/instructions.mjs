// Instructions per message, for comparing two builds on a busy machine where wall-clock
// figures swing by tens of percent. Run under callgrind; see docs/benchmarks.md,
// "Instruction counts across the house refactor", for the command and how to read it.
//
//   node bench/instructions.mjs <dist directory> <workload> <messages>
//
// Workloads: w1c1, w1c16 (W1: send all, consumer at concurrency 1 or 16), w3live (W3: 10
// synchronous live listeners, each publish awaited), w2bursty (W2-bursty without the clock:
// bursts of 100 sends awaited together, each burst handled before the next, so the consumer
// waits idle in between as it does between bursts 5 ms apart), w3async (W3-async: 10 `async`
// live listeners, publishes in bursts of 100 awaited together), w3durable (W3 durable: 10 named
// subscriptions with `async` handlers, 1,000 publishes in flight; per publish, 10 copies).
//
// POCKETMQ_COUNTING_CLOCK=1: the storage's clock still calls Date.now() (its cost stays in the
// count) but returns a Date-sized time that moves 1 ms every 16 reads, so two runs of one
// build count the same instructions; with the real clock, steady-state counts of one build
// differed by up to 10 % between runs. See "metrics() cost, measured again" in docs/benchmarks.md.
const workloads = ['w1c1', 'w1c16', 'w3live', 'w2bursty', 'w3async', 'w3durable'];
const [dist, workload, count] = process.argv.slice(2);
const n = Number(count);
if (!dist || !workloads.includes(workload) || !Number.isInteger(n) || n < 0) {
  console.error(`usage: node bench/instructions.mjs <dist directory> <${workloads.join(' | ')}> <messages>`);
  process.exit(2);
}
const { Queue, Topic, MemoryStorage } = await import(new URL(`file://${dist.startsWith('/') ? dist : `${process.cwd()}/${dist}`}/index.js`).href);
let reads = 0;
const countingClock = {
  now: () => Date.now() * 0 + 1_764_000_000_000 + (++reads >> 4),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
const storage = new MemoryStorage(process.env.POCKETMQ_COUNTING_CLOCK === '1' ? { clock: countingClock } : undefined);
const BURST = 100;

/** Calls `send(i)` for i in [0, n) in bursts of BURST awaited together, then `after(end)`. */
async function bursts(send, after = () => undefined) {
  for (let first = 0; first < n; first += BURST) {
    const end = Math.min(n, first + BURST);
    const results = [];
    for (let i = first; i < end; i++) results.push(send(i));
    await Promise.all(results);
    await after(end);
  }
}

if (workload === 'w3durable') {
  const topic = new Topic('w3', { storage });
  let handled = 0;
  const all = new Promise((resolve) => {
    for (let s = 0; s < 10; s++) topic.subscribe(`sub-${s}`, async () => void (++handled === n * 10 && resolve()));
  });
  const IN_FLIGHT = 1000;
  for (let first = 0; first < n; first += IN_FLIGHT) {
    const pending = [];
    for (let i = first; i < Math.min(n, first + IN_FLIGHT); i++) pending.push(topic.publish({ i }));
    await Promise.all(pending);
  }
  if (n > 0) await all;
  await topic.close();
} else if (workload === 'w3live' || workload === 'w3async') {
  const topic = new Topic('w3', { storage });
  let received = 0;
  for (let s = 0; s < 10; s++) topic.subscribe(workload === 'w3live' ? () => void received++ : async () => void received++);
  if (workload === 'w3live') for (let i = 0; i < n; i++) await topic.publish({ i });
  else await bursts((i) => topic.publish({ i }));
  if (received !== n * 10) throw new RangeError(`listeners received ${received}, expected ${n * 10}`);
  await topic.close();
} else if (workload === 'w2bursty') {
  const queue = new Queue('w2', { storage });
  let handled = 0;
  let burstHandled;
  queue.consume(async () => {
    if (++handled % BURST === 0 || handled === n) burstHandled?.();
  });
  await bursts(
    (i) => queue.send({ i }),
    (end) => (handled >= end ? undefined : new Promise((resolve) => (burstHandled = resolve))),
  );
  if (handled !== n) throw new RangeError(`handled ${handled}, expected ${n}`);
  await queue.close();
} else {
  const queue = new Queue('w1', { storage });
  let handled = 0;
  const all = new Promise((resolve) => {
    queue.consume(async () => void (++handled === n && resolve()), { concurrency: workload === 'w1c1' ? 1 : 16 });
  });
  for (let i = 0; i < n; i++) queue.send({ i });
  if (n > 0) await all;
  await queue.close();
}
await storage.close();
