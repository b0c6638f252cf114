#!/usr/bin/env node
import { main } from '../app/cli.js';

process.exitCode = await main(process.argv);
