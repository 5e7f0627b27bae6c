#!/usr/bin/env node
// The command. It runs the bundle in dist/bundle (built by esbuild): one
// file parses and compiles faster than a module graph, which matters under
// the DaemonSet's 100m CPU quota.
await import('../dist/bundle/cli.js');
