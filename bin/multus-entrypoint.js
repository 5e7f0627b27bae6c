#!/usr/bin/env node
// The command. It runs the single-file bundle (dist/bundle, built by
// esbuild): one file parses and compiles faster than a module graph, which
// matters under the DaemonSet's 100m CPU quota. The V8 compile cache makes
// later starts cheaper still (it lives in the OS temp dir).
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/bundle/cli.js');
