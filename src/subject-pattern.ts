import { expected } from './validate.js';

/**
 * Subjects and filters with AMQP topic-exchange semantics. A subject is
 * dot-separated words (`order.eu.placed`); a filter is the same with two
 * wildcard words: `*` matches exactly one word, `#` matches zero or more.
 * No filter matches everything, like `#`.
 */

const WILDCARDS = /[*#]/;
/** Most subjects a {@link SubjectIndex} remembers the matches of; past it, the oldest is forgotten. */
const MATCH_CACHE_SIZE = 1_000;

function wordsOf(value: string): string[] {
  return value.split('.');
}

/** A subject to publish under: dot-separated non-empty words without `*` or `#`. */
export function checkSubject(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || wordsOf(value).some((w) => w.length === 0 || WILDCARDS.test(w))) {
    throw expected(name, 'a subject of dot-separated non-empty words without * or # (e.g. "order.placed")', value);
  }
  return value;
}

/** A filter: dot-separated words, each non-empty and either `*`, `#` or a word without `*` and `#`. */
export function checkFilter(name: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    wordsOf(value).some((w) => w.length === 0 || (w !== '*' && w !== '#' && WILDCARDS.test(w)))
  ) {
    throw expected(name, 'a filter of dot-separated words where * is one word and # any number of words (e.g. "order.*" or "#.error")', value);
  }
  return value;
}

/** Splits a filter into words, with runs of `#` collapsed (`#.#` means the same as `#`). */
function patternWords(filter: string): string[] {
  const out: string[] = [];
  for (const word of wordsOf(filter)) {
    if (word === '#' && out[out.length - 1] === '#') continue;
    out.push(word);
  }
  return out;
}

/** Whether `subject` (undefined: zero words) matches `filter` (undefined: everything). */
export function subjectMatches(filter: string | undefined, subject: string | undefined): boolean {
  if (filter === undefined) return true;
  const index = new SubjectIndex<true>();
  index.add(filter, true);
  return index.match(subject).size > 0;
}

class TrieNode<V> {
  readonly words = new Map<string, TrieNode<V>>();
  star: TrieNode<V> | undefined = undefined;
  hash: TrieNode<V> | undefined = undefined;
  values: Set<V> | undefined = undefined;

  isEmpty(): boolean {
    return this.words.size === 0 && !this.star && !this.hash && (!this.values || this.values.size === 0);
  }
}

/**
 * Filters in a trie of their words (RabbitMQ's topic-exchange layout), so that
 * matching a subject walks only the branches its words can take: the cost grows
 * with the subject's length and the matching filters, not with how many filters
 * there are.
 */
export class SubjectIndex<V> {
  readonly #root = new TrieNode<V>();
  /** Values added without a filter: they match every subject. */
  readonly #everything = new Set<V>();
  /**
   * {@link SubjectIndex.matchList}'s answers by subject, dropped whenever a filter
   * is added or deleted: a publish path asks about the same few subjects over and
   * over, and walking the trie allocates (words, a set) each time.
   */
  readonly #cache = new Map<string, readonly V[]>();
  /** The cached answer for `undefined` (no subject), which has no key in {@link SubjectIndex.#cache}. */
  #noSubject: readonly V[] | undefined = undefined;

  /** Adds `value` under `filter` (undefined: everything). The filter must have passed {@link checkFilter}. */
  add(filter: string | undefined, value: V): void {
    this.#forget();
    if (filter === undefined) {
      this.#everything.add(value);
      return;
    }
    let node = this.#root;
    for (const word of patternWords(filter)) node = this.#child(node, word);
    (node.values ??= new Set()).add(value);
  }

  /** Removes `value` from under `filter`, pruning branches left empty. */
  delete(filter: string | undefined, value: V): void {
    this.#forget();
    if (filter === undefined) {
      this.#everything.delete(value);
      return;
    }
    const path: [TrieNode<V>, string][] = [];
    let node: TrieNode<V> | undefined = this.#root;
    for (const word of patternWords(filter)) {
      const next: TrieNode<V> | undefined = word === '*' ? node.star : word === '#' ? node.hash : node.words.get(word);
      if (!next) return;
      path.push([node, word]);
      node = next;
    }
    node.values?.delete(value);
    for (let i = path.length - 1; i >= 0 && node.isEmpty(); i--) {
      const [parent, word] = path[i]!;
      if (word === '*') parent.star = undefined;
      else if (word === '#') parent.hash = undefined;
      else parent.words.delete(word);
      node = parent;
    }
  }

  /** Every value whose filter matches `subject` (undefined: a subject of zero words), each once. */
  match(subject: string | undefined): Set<V> {
    const out = new Set<V>(this.#everything);
    this.#walk(this.#root, subject === undefined ? [] : wordsOf(subject), 0, out);
    return out;
  }

  /**
   * Every value whose filter matches `subject`, each once, as an array that is never
   * changed afterwards (adding or deleting a filter makes a new one), so callers may
   * iterate it while values are added or deleted. Remembered per subject.
   */
  matchList(subject: string | undefined): readonly V[] {
    if (subject === undefined) return (this.#noSubject ??= [...this.match(undefined)]);
    let values = this.#cache.get(subject);
    if (values === undefined) {
      values = [...this.match(subject)];
      if (this.#cache.size >= MATCH_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(subject, values);
    }
    return values;
  }

  #forget(): void {
    this.#cache.clear();
    this.#noSubject = undefined;
  }

  #child(node: TrieNode<V>, word: string): TrieNode<V> {
    if (word === '*') return (node.star ??= new TrieNode());
    if (word === '#') return (node.hash ??= new TrieNode());
    let next = node.words.get(word);
    if (!next) {
      next = new TrieNode();
      node.words.set(word, next);
    }
    return next;
  }

  #walk(node: TrieNode<V>, words: readonly string[], i: number, out: Set<V>): void {
    if (node.hash) {
      // `#` takes zero or more words: try every split of the rest.
      for (let j = i; j <= words.length; j++) this.#walk(node.hash, words, j, out);
    }
    if (i === words.length) {
      if (node.values) for (const value of node.values) out.add(value);
      return;
    }
    const literal = node.words.get(words[i]!);
    if (literal) this.#walk(literal, words, i + 1, out);
    if (node.star) this.#walk(node.star, words, i + 1, out);
  }
}
