#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `tunnus` works from a clone without a build step.
require('tsx/cjs');
require('../src/starter.ts').cli();
