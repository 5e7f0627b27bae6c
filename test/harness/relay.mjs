// A byte relay: `node relay.mjs <listen> <connect>`, each address either
// `tcp:<host>:<port>` or `unix:<path>`. The API server listens on the
// machine's loopback, while Multus runs in the test's "node" network
// namespace, whose loopback is a different one. A relay started in the host
// namespace (unix socket -> API server) and one started in the node
// namespace (127.0.0.1:<port> -> unix socket) make the same
// https://127.0.0.1:<port> reach the API server from both sides; a unix
// socket is a file, so it crosses network namespaces. TLS passes through
// untouched. Plain JavaScript: it runs outside jest, under `node` alone.
import fs from 'node:fs';
import net from 'node:net';

function parse(address) {
  if (address.startsWith('unix:')) return { path: address.slice(5) };
  const m = /^tcp:(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`relay: bad address ${address}`);
  return { host: m[1], port: Number(m[2]) };
}

const [listenArg, connectArg] = process.argv.slice(2);
if (!listenArg || !connectArg) {
  console.error('usage: node relay.mjs <listen> <connect>');
  process.exit(2);
}
const listen = parse(listenArg);
const target = parse(connectArg);

const server = net.createServer((client) => {
  const upstream = net.connect(target);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream);
  upstream.pipe(client);
});

if (listen.path) fs.rmSync(listen.path, { force: true });
server.listen(listen.path ? { path: listen.path } : { host: listen.host, port: listen.port }, () => {
  console.log(`relay: listening on ${listenArg}, relaying to ${connectArg}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
