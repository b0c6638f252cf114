#!/usr/bin/env node
import { main } from '../dsl/cli.js';

process.exitCode = await main(process.argv);
