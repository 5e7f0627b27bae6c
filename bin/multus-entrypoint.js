#!/usr/bin/env node
// The command. A V8 compile cache makes later starts cheaper under the
// DaemonSet's 100m CPU quota (the cache lives in the OS temp dir).
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli.js');
