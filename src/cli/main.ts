#!/usr/bin/env node
// orb-learn's command line: thin shells over the library, one module a command.
import { Command } from 'commander';
import { registerArchive } from './commands/archive.js';
import { registerDemo } from './commands/demo.js';
import { registerFeedback } from './commands/feedback.js';
import { registerMigrate } from './commands/migrate.js';
import { registerModel } from './commands/model.js';
import { registerPolicy } from './commands/policy.js';
import { registerQuery } from './commands/query.js';
import { registerReembed } from './commands/reembed.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerSynth } from './commands/synth.js';

const program = new Command('orb-learn').description('OTLP sidecar that learns from execution spans').showHelpAfterError();
registerServe(program);
registerModel(program);
registerReembed(program);
registerSynth(program);
registerQuery(program);
registerFeedback(program);
registerDemo(program);
registerArchive(program);
registerMigrate(program);
registerPolicy(program);
registerReport(program);
await program.parseAsync(process.argv);
