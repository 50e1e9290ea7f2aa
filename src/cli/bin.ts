#!/usr/bin/env node
/**
 * The `novarpc` executable (package.json `bin`). It always runs the command, whatever
 * path it is started through: npm's bin link, `npx`, `npm link`, a global install.
 */
import { runCli } from './main.js';

void runCli(process.argv);
