/**
 * A Map by queue name that remembers the last entry it found. Operations come in runs on
 * one queue (a send, its claim, its ack), and a hit is one comparison of the same string
 * where a Map lookup hashes it (~60 instructions, docs/benchmarks.md).
 */
export class NameMap<V> {
  readonly #map = new Map<string, V>();
  #lastName: string | undefined = undefined;
  #lastValue: V | undefined = undefined;

  get size(): number {
    return this.#map.size;
  }

  get(name: string): V | undefined {
    if (name === this.#lastName) return this.#lastValue;
    const value = this.#map.get(name);
    if (value !== undefined) {
      this.#lastName = name;
      this.#lastValue = value;
    }
    return value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, value: V): this {
    this.#map.set(name, value);
    if (name === this.#lastName) this.#lastValue = value;
    return this;
  }

  delete(name: string): boolean {
    if (name === this.#lastName) this.#forgetLast();
    return this.#map.delete(name);
  }

  clear(): void {
    this.#forgetLast();
    this.#map.clear();
  }

  keys(): MapIterator<string> {
    return this.#map.keys();
  }

  values(): MapIterator<V> {
    return this.#map.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.#map[Symbol.iterator]();
  }

  #forgetLast(): void {
    this.#lastName = undefined;
    this.#lastValue = undefined;
  }
}
