import { expected } from './validate.js';

/** A schedule's tick times: the first tick strictly after a time, `undefined` when there is none. */
export interface TickRule {
  after(time: number): number | undefined;
}

/** What pocketmq uses of croner's `Cron`: a pattern in a zone, and its next match after a date. */
interface CronPattern {
  nextRun(prev?: Date): Date | null;
}
type CronConstructor = new (pattern: string, options: { timezone?: string }) => CronPattern;

let cronLoading: Promise<CronConstructor> | undefined;

/**
 * croner, loaded on first use: a dynamic import, so a build that splits chunks keeps
 * it out of the code of apps that never schedule with `cron`.
 */
function loadCron(): Promise<CronConstructor> {
  cronLoading ??= import('croner').then((module) => module.Cron as unknown as CronConstructor);
  return cronLoading;
}

/** Parsed cron patterns by expression and zone: a schedule's rule is asked again at each tick. */
const patterns = new Map<string, CronPattern>();
const MAX_CACHED_PATTERNS = 256;

/**
 * The rule of an `every` schedule: ticks at `anchor + k * every` (the anchor is any one
 * tick, e.g. the stored `next`), so ticks stay on their grid however late they fire.
 */
export function everyRule(every: number, anchor: number): TickRule {
  return {
    after: (time) => anchor + (Math.floor((time - anchor) / every) + 1) * every,
  };
}

/** A parsed pattern, made once per expression and zone. */
async function patternOf(cron: string, tz: string): Promise<CronPattern> {
  const key = `${tz}\u0000${cron}`;
  let pattern = patterns.get(key);
  if (pattern === undefined) {
    const Cron = await loadCron();
    try {
      pattern = new Cron(cron, { timezone: tz });
    } catch (error) {
      throw expected('spec.cron', `a cron expression croner can read (${(error as Error).message})`, cron);
    }
    if (patterns.size >= MAX_CACHED_PATTERNS) patterns.delete(patterns.keys().next().value!);
    patterns.set(key, pattern);
  }
  return pattern;
}

/**
 * The rule of a cron schedule, or an error naming `spec.cron` when croner cannot read
 * the expression. Matches are on the wall clock of `tz`, and croner resolves
 * daylight-saving changes by it: a time that spring leaves out runs at the jump, a time
 * that autumn repeats runs at its first occurrence (test/schedule.test.ts holds it to that).
 */
export async function cronRule(cron: string, tz: string): Promise<TickRule> {
  const pattern = await patternOf(cron, tz);
  return {
    after(time) {
      const next = pattern.nextRun(new Date(time));
      return next === null ? undefined : next.getTime();
    },
  };
}

/**
 * The latest tick at or before `bound`, starting from `first` (a tick, `<= bound`).
 * Probes back from `bound` in growing windows, so a long gap costs a few probes
 * rather than one step per missed tick.
 */
export function latestTick(rule: TickRule, first: number, bound: number): number {
  let from = first;
  for (let window = 60_000; bound - window > first; window *= 4) {
    const probe = rule.after(bound - window);
    if (probe !== undefined && probe <= bound) {
      from = probe;
      break;
    }
  }
  for (let next = rule.after(from); next !== undefined && next <= bound; next = rule.after(from)) from = next;
  return from;
}
