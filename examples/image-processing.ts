/**
 * Image processing: an upload queues one task per derivative (two thumbnails,
 * an optimized copy, metadata). Two workers take tasks; each finished task is
 * reported on a completion queue, where a tracker marks the image ready once
 * all its tasks are done.
 *
 * Run it: npx tsx examples/image-processing.ts
 */
import { MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

type Task =
  | { type: 'generate_thumbnail'; size: '150x150' | '300x300' }
  | { type: 'optimize_quality'; quality: number }
  | { type: 'extract_metadata' };

interface ImageTask {
  imageId: string;
  task: Task;
}

interface Completion {
  imageId: string;
  task: Task['type'];
  output: string;
  status: 'completed';
}

export interface ImageProcessingResult {
  /** Per image: outputs made, and whether every task finished. */
  images: Record<string, { outputs: string[]; status: 'processing' | 'ready' }>;
  /** How many tasks each worker ran. */
  tasksPerWorker: Record<string, number>;
}

const TASKS: Task[] = [
  { type: 'generate_thumbnail', size: '150x150' },
  { type: 'generate_thumbnail', size: '300x300' },
  { type: 'optimize_quality', quality: 80 },
  { type: 'extract_metadata' },
];

/** Stands in for the real image work: names the file it would write. */
function render(imageId: string, task: Task): string {
  switch (task.type) {
    case 'generate_thumbnail':
      return `${imageId}-thumb-${task.size}.jpg`;
    case 'optimize_quality':
      return `${imageId}-q${task.quality}.jpg`;
    case 'extract_metadata':
      return `${imageId}.json`;
  }
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<ImageProcessingResult> {
  const result: ImageProcessingResult = { images: {}, tasksPerWorker: {} };
  const tasks = new Queue<ImageTask>('image-processing-queue', { storage });
  const completions = new Queue<Completion>('image-completion-queue', { storage });

  const workers = ['worker-a', 'worker-b'].map((workerId) =>
    tasks.consume(async ({ body }) => {
      const output = render(body.imageId, body.task);
      result.tasksPerWorker[workerId] = (result.tasksPerWorker[workerId] ?? 0) + 1;
      await completions.send({ imageId: body.imageId, task: body.task.type, output, status: 'completed' });
    }),
  );

  const tracker = completions.consume(async ({ body }) => {
    const image = result.images[body.imageId]!;
    image.outputs.push(body.output);
    log(`${body.imageId}: ${body.task} done (${body.output})`);
    if (image.outputs.length === TASKS.length) {
      image.status = 'ready';
      log(`${body.imageId}: ready`);
    }
  });

  async function uploadImage(imageId: string): Promise<{ imageId: string; status: 'processing' }> {
    result.images[imageId] = { outputs: [], status: 'processing' };
    await tasks.sendBatch(TASKS.map((task) => ({ body: { imageId, task } })));
    return { imageId, status: 'processing' };
  }

  for (const imageId of ['img-1', 'img-2', 'img-3']) log(`uploaded ${JSON.stringify(await uploadImage(imageId))}`);

  await tasks.idle();
  await completions.idle();
  await Promise.all([...workers, tracker].map((c) => c.stop()));
  return result;
}

if (isMain(import.meta.url)) {
  const { tasksPerWorker } = await main({ log: console.log });
  console.log('tasks per worker:', tasksPerWorker);
}
