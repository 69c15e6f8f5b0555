/**
 * What the `pocketmq` command prints: data on stdout, as an aligned table for people
 * or JSON for scripts (`--json`); errors and notes on stderr, one line each.
 */
import type { Writable } from 'node:stream';

/** Where the command writes; a test or an embedding program may pass its own streams. */
export interface Streams {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * Control characters as escapes: message bodies, headers and ids come from whoever sent
 * them, and must never move the cursor or recolour the terminal of the person reading them.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `text` cut to `width` characters, with an ellipsis when it was cut. */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Rows under a header, each column as wide as its widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? String(cell) : printable(cell))))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 && !numeric[i] ? cell : numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ');
  return `${cells.map(line).join('\n')}\n`;
}

/** One JSON document per line: what `--json` prints, so `--watch` output is NDJSON. */
export function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
