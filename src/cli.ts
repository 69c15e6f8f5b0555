#!/usr/bin/env node
/** The `pocketmq` command (package.json `bin`); see docs/cli.md or `pocketmq --help`. */
import { main } from './cli/main.js';

void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env).then((code) => {
  process.exitCode = code;
});
