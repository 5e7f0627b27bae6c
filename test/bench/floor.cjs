// The floor: the least a Node program can do for a time to config. Node 24
// starts this script, which installs the binary the way the program does
// (size, then content in 256 KiB reads when one is there; otherwise the
// kernel's copy to a temporary file, fsync, chmod, rename, fsync of the
// dir), then writes the two small files the bench waits for (a config that
// carries the master's marker, a kubeconfig with the token), each through a
// temporary file, fsync and rename. No option parsing beyond the three
// flags it needs, no validation, no watching: it exits when done.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const binDir = flag('cni-bin-dir');
const confDir = flag('cni-conf-dir');
const src = flag('multus-bin-file');
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function replace(target, mode, fill) {
  const tmp = path.join(path.dirname(target), `.floor-tmp.${path.basename(target)}`);
  fill(tmp);
  const fd = fs.openSync(tmp, 'r+');
  fs.fchmodSync(fd, mode);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
  syncDir(path.dirname(target));
}

function same(a, b) {
  let sb;
  try { sb = fs.statSync(b); } catch { return false; }
  if (fs.statSync(a).size !== sb.size) return false;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const ba = Buffer.allocUnsafe(256 * 1024);
  const bb = Buffer.allocUnsafe(256 * 1024);
  try {
    for (;;) {
      const ra = fs.readSync(fa, ba, 0, ba.length, null);
      const rb = fs.readSync(fb, bb, 0, bb.length, null);
      if (ra !== rb) return false;
      if (ra === 0) return true;
      if (ba.compare(bb, 0, rb, 0, ra) !== 0) return false;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

const dest = path.join(binDir, 'multus');
if (!same(src, dest)) replace(dest, 0o755, (tmp) => fs.copyFileSync(src, tmp, fs.constants.COPYFILE_EXCL));

const master = fs.readFileSync(path.join(confDir, '10-flannel.conflist'), 'utf8');
const token = fs.readFileSync(path.join(SA, 'token'), 'utf8');
const kubeDir = path.join(confDir, 'multus.d');
fs.mkdirSync(kubeDir, { recursive: true });
const write = (file, text) => replace(file, 0o600, (tmp) => fs.writeFileSync(tmp, text, { flag: 'wx' }));
write(path.join(kubeDir, 'multus.kubeconfig'), `apiVersion: v1\nkind: Config\ncurrent-context: multus-context\nusers:\n- name: multus\n  user:\n    token: "${token}"\n`);
write(path.join(confDir, '00-multus.conf'), `{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","delegates":[${master}]}\n`);
