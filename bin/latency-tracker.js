#!/usr/bin/env node
// Entry point: runs the built CLI (dist/). `npm start` / `npm test` build it first.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
