// Instructions per message, for comparing two builds on a busy machine where wall-clock
// figures swing by tens of percent. Run under callgrind; see docs/benchmarks.md,
// "Instruction counts across the house refactor", for the command and how to read it.
//
//   node bench/instructions.mjs <dist directory> <w1c1 | w1c16 | w3live> <messages>
const [dist, workload, count] = process.argv.slice(2);
const n = Number(count);
if (!dist || !['w1c1', 'w1c16', 'w3live'].includes(workload) || !Number.isInteger(n) || n < 0) {
  console.error('usage: node bench/instructions.mjs <dist directory> <w1c1 | w1c16 | w3live> <messages>');
  process.exit(2);
}
const { Queue, Topic, MemoryStorage } = await import(new URL(`file://${dist.startsWith('/') ? dist : `${process.cwd()}/${dist}`}/index.js`).href);
const storage = new MemoryStorage();

if (workload === 'w3live') {
  const topic = new Topic('w3', { storage });
  let received = 0;
  for (let s = 0; s < 10; s++) topic.subscribe(() => void received++);
  for (let i = 0; i < n; i++) await topic.publish({ i });
  if (received !== n * 10) throw new RangeError(`listeners received ${received}, expected ${n * 10}`);
  await topic.close();
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
