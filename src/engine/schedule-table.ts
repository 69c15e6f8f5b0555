import type { StoredSchedule } from './types.js';

/**
 * The schedules of every queue, and the earliest `next` of them all (worked out again
 * only after a change: every operation asks for it). Pure: the engine journals each
 * change; the tick arithmetic lives with the caller.
 */
export class ScheduleTable {
  /** By queue, then id. */
  readonly #byQueue = new Map<string, Map<string, StoredSchedule>>();
  /** `null` after a change, until asked again. */
  #earliest: number | undefined | null = undefined;

  get(queue: string, id: string): StoredSchedule | undefined {
    return this.#byQueue.get(queue)?.get(id);
  }

  /** Stores or replaces a schedule. */
  put(queue: string, schedule: StoredSchedule): void {
    let schedules = this.#byQueue.get(queue);
    if (!schedules) this.#byQueue.set(queue, (schedules = new Map()));
    schedules.set(schedule.id, schedule);
    this.#earliest = null;
  }

  /** Removes a schedule; true if it existed. */
  delete(queue: string, id: string): boolean {
    const schedules = this.#byQueue.get(queue);
    if (!schedules?.delete(id)) return false;
    if (schedules.size === 0) this.#byQueue.delete(queue);
    this.#earliest = null;
    return true;
  }

  /** The schedules of `queue`, or of every queue when `undefined`, ordered by queue then id. */
  list(queue: string | undefined): { queue: string; schedule: StoredSchedule }[] {
    const out: { queue: string; schedule: StoredSchedule }[] = [];
    for (const name of queue === undefined ? [...this.#byQueue.keys()].sort() : [queue]) {
      const schedules = this.#byQueue.get(name);
      if (schedules) for (const id of [...schedules.keys()].sort()) out.push({ queue: name, schedule: schedules.get(id)! });
    }
    return out;
  }

  /** The earliest tick of all schedules; `undefined` when there is none. */
  nextAt(): number | undefined {
    if (this.#earliest === null) {
      let earliest: number | undefined;
      for (const schedules of this.#byQueue.values()) for (const s of schedules.values()) if (earliest === undefined || s.next < earliest) earliest = s.next;
      this.#earliest = earliest;
    }
    return this.#earliest;
  }

  get empty(): boolean {
    return this.#byQueue.size === 0;
  }

  clear(): void {
    this.#byQueue.clear();
    this.#earliest = undefined;
  }
}
