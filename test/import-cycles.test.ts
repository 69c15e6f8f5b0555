/**
 * No import cycles in src/, type-only imports included: a cycle means two files are one
 * concept in two places, and it lets a module run before what it imports has loaded.
 * The graph comes from the TypeScript compiler's own import scanner, so no dependency is needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return d.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file's relative imports as files, `import type` and `export … from` included. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const specs = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
    const targets = specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
    graph.set(file, targets);
  }
  return graph;
}

/** Every elementary cycle reachable by depth-first search, each as the files along it (deduplicated by rotation). */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = path.slice(path.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const canonical = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(canonical.join(' -> '), canonical);
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return [...cycles.values()];
}

describe('src/ import graph', () => {
  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c']]);
  });

  it('has no import cycles, type-only imports included', () => {
    const graph = importGraph(sourceFiles(SRC));
    expect(graph.size).toBeGreaterThan(10);
    const cycles = findCycles(graph).map((cycle) => [...cycle, cycle[0]!].map((f) => relative(SRC, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('src/engine/ imports nothing outside itself (the pure state machine stands alone)', () => {
    const engine = join(SRC, 'engine');
    const graph = importGraph(sourceFiles(engine));
    expect(graph.size).toBeGreaterThan(3);
    const outside = [...graph].flatMap(([file, targets]) => targets.filter((t) => !t.startsWith(engine + '/')).map((t) => `${relative(SRC, file)} imports ${relative(SRC, t)}`));
    expect(outside).toEqual([]);
  });
});
