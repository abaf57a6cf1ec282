#!/usr/bin/env node
/** The `ghmdet` executable: src/cli/program.ts lists the commands, src/cli/command.ts holds their conventions. */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
