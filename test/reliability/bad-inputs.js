// Bad input corpus: every case starts from its own host root, configured by
// a first successful run; then one thing is made bad and the program is run
// again (--once, and --master-cni-wait-timeout=0 so that "no usable master"
// fails at once). Each must end with exit 1 or 2 (the code docs/behaviour.md gives),
// a message on stderr naming the file, flag or variable, no stack trace, no
// token, no temporary file, and the previous good files byte for byte.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import {
  exists, hostAt, inParallel, leftoverTemps, newRootDir, runProgram, sh, stackTraceLine, FIXTURES, TOKEN,
  writeServiceAccount,
} from './lib.js';

const GOOD = await fsp.readFile(join(FIXTURES, 'masters/10-flannel.conflist'), 'utf8');
const MASTER = '10-flannel.conflist';
const fixture = (p) => fsp.readFile(join(FIXTURES, p));
const PIN = (name) => [`--multus-master-cni-file-name=${name}`];

/** A master file that is bad in content: pinned (fatal, as docs/behaviour.md says) or, with auto, the only candidate. */
function contentCase(name, file, content, { auto = false, reason } = {}) {
  return {
    name: `${auto ? 'auto' : 'pinned'}: ${name}`,
    auto,
    setup: async (h) => {
      if (auto) await fsp.rm(join(h.confDir, MASTER));
      await fsp.writeFile(join(h.confDir, file), typeof content === 'function' ? await content() : content);
    },
    args: () => (auto ? [] : PIN(file)),
    code: 1,
    names: (h) => [join(h.confDir, file), ...(reason ? [reason] : [])],
  };
}

/** A master that is a special file (link, dir, fifo...), made by make(path). */
function entryCase(name, file, make, { auto = false, reason } = {}) {
  return {
    name: `${auto ? 'auto' : 'pinned'}: ${name}`,
    auto,
    setup: async (h) => {
      if (auto) await fsp.rm(join(h.confDir, MASTER));
      await make(join(h.confDir, file), h);
    },
    args: () => (auto ? [] : PIN(file)),
    code: 1,
    names: (h) => [join(h.confDir, file), ...(reason ? [reason] : [])],
  };
}

function flagCase(name, flags, flagName, code = 2) {
  return { name: `flag: ${name}`, args: () => flags, code, names: () => [flagName] };
}

const edited = GOOD.replace('"cbr0"', '"cbr-edited"');
/** Changes the master so that the program has something to write (a new config). */
const editMaster = (h, dir = h.confDir) => fsp.writeFile(join(dir, MASTER), edited);

function rotate(h) {
  return writeServiceAccount(h.saDir, `${TOKEN}-rotated`, 'CA-rotated\n');
}

export function corpus(ab) {
  const unreadable = !ab.isRoot ? { wrap: [] } : ab.canDropCaps ? { wrap: ab.dropCaps } : { skip: 'running as root without setpriv: root reads any file' };
  const cases = [
    // --- malformed JSON and wrong types (pinned: the skip reason is fatal)
    contentCase('truncated JSON (fixture)', '01-truncated.conflist', () => fixture('invalid/01-truncated.conflist'), { reason: 'not valid JSON' }),
    contentCase('truncated JSON', '01-truncated.conflist', () => fixture('invalid/01-truncated.conflist'), { auto: true }),
    contentCase('not JSON at all', '20-text.conf', 'cniVersion = 0.3.1\ntype = bridge\n', { reason: 'not valid JSON' }),
    contentCase('empty file (fixture)', '06-empty.conf', () => fixture('invalid/06-empty.conf'), { reason: 'empty' }),
    contentCase('whitespace only', '20-blank.conf', ' \n\t\n', { reason: 'empty' }),
    contentCase('JSON array', '20-array.conf', '[{"cniVersion":"0.3.1","type":"bridge"}]', { reason: 'not a JSON object' }),
    contentCase('JSON string', '20-string.conf', '"bridge"', { reason: 'not a JSON object' }),
    contentCase('JSON null', '20-null.conf', 'null', { reason: 'not a JSON object' }),
    contentCase('trailing garbage', '20-trailing.conf', '{"cniVersion":"0.3.1","type":"bridge"} }', { reason: 'not valid JSON' }),
    contentCase('comments', '20-comments.conf', '{ // bridge\n"cniVersion":"0.3.1","type":"bridge"}', { reason: 'not valid JSON' }),
    contentCase('numeric cniVersion (fixture)', '03-numeric-version.conf', () => fixture('invalid/03-numeric-version.conf'), { reason: 'cniVersion' }),
    contentCase('numeric cniVersion', '03-numeric-version.conf', () => fixture('invalid/03-numeric-version.conf'), { auto: true }),
    contentCase('no cniVersion', '20-nover.conf', '{"name":"x","type":"bridge"}', { reason: 'cniVersion' }),
    contentCase('cniVersion not a version', '20-latest.conf', '{"cniVersion":"latest","type":"bridge"}', { reason: 'cniVersion' }),
    contentCase('no type (.conf)', '20-notype.conf', '{"cniVersion":"0.3.1","name":"x"}', { reason: 'type' }),
    contentCase('numeric type', '20-numtype.json', '{"cniVersion":"0.3.1","type":7}', { reason: 'type' }),
    contentCase('plugin list saved as .conf', '20-list.conf', GOOD, { reason: 'type' }),
    contentCase('empty plugins (fixture)', '04-empty-plugins.conflist', () => fixture('invalid/04-empty-plugins.conflist'), { reason: 'plugins' }),
    contentCase('plugins is an object', '20-plugobj.conflist', '{"cniVersion":"0.3.1","plugins":{"type":"bridge"}}', { reason: 'plugins' }),
    contentCase('plugin without type', '20-plugnotype.conflist', '{"cniVersion":"0.3.1","plugins":[{"type":"bridge"},{"mtu":1}]}', { reason: 'plugin 1' }),
    contentCase('plugin is a string', '20-plugstr.conflist', '{"cniVersion":"0.3.1","plugins":["bridge"]}', { reason: 'plugin 0' }),
    contentCase('non-boolean capability (fixture)', '05-bad-capabilities.conf', () => fixture('invalid/05-bad-capabilities.conf'), { reason: 'capability' }),
    contentCase('capabilities is a list', '20-capslist.conf', '{"cniVersion":"0.3.1","type":"bridge","capabilities":["ips"]}', { reason: 'capabilities' }),
    contentCase('plugin capability is a number', '20-plugcaps.conflist', '{"cniVersion":"1.0.0","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":1}}]}', { reason: 'capability' }),
    contentCase('Multus itself (fixture)', '02-multus-custom.conf', () => fixture('invalid/02-multus-custom.conf'), { reason: 'multus' }),
    contentCase('multus-shim in a list', '20-shim.conflist', '{"cniVersion":"1.0.0","plugins":[{"type":"multus-shim"}]}', { auto: true }),
    contentCase('deep nesting (100,000 levels)', '20-deep.conf', `{"cniVersion":"0.3.1","type":"bridge","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    contentCase('bare array nested 100,000 levels', '20-deeparr.conf', `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    contentCase('deep nesting (10,000 levels)', '20-deep10k.conf', `{"cniVersion":"0.3.1","type":"bridge","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
    contentCase('deep nesting (10,000 levels)', '20-deep10k.conf', `{"cniVersion":"0.3.1","type":"bridge","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, { auto: true }),
    contentCase('10 MB master', '20-huge.conf', `{"cniVersion":"0.3.1","type":"bridge","pad":"${'x'.repeat(10 * 1024 * 1024)}"}`, { reason: 'larger than' }),
    contentCase('10 MB master', '20-huge.conf', `{"cniVersion":"0.3.1","type":"bridge","pad":"${'x'.repeat(10 * 1024 * 1024)}"}`, { auto: true }),
    contentCase('not UTF-8 (Latin-1 bytes)', '20-latin1.conf', Buffer.from('{"cniVersion":"0.3.1","type":"bridge","name":"caf\xe9"}', 'latin1'), { reason: 'UTF-8' }),
    contentCase('UTF-16 with a byte-order mark', '20-utf16.conf', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"cniVersion":"0.3.1","type":"bridge"}', 'utf16le')]), { reason: 'UTF-8' }),
    contentCase('binary garbage', '20-garbage.conf', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))),
    // --- links, directories and other entries named like configs
    entryCase('symlink loop', '20-loop-a.conf', async (p, h) => {
      await fsp.symlink('20-loop-b.conf', p);
      await fsp.symlink('20-loop-a.conf', join(h.confDir, '20-loop-b.conf'));
    }, { reason: 'symbolic links' }),
    entryCase('link to itself', '20-self.conf', (p) => fsp.symlink('20-self.conf', p), { auto: true }),
    entryCase('dangling link', '20-dangling.conf', (p) => fsp.symlink('/nonexistent/flannel.conflist', p), { reason: 'dangling' }),
    entryCase('dangling link', '20-dangling.conflist', (p) => fsp.symlink('gone.conflist', p), { auto: true }),
    entryCase('directory named *.conf', '20-dir.conf', (p) => fsp.mkdir(p), { reason: 'directory' }),
    entryCase('directory named *.conflist', '20-dir.conflist', (p) => fsp.mkdir(p), { auto: true }),
    entryCase('FIFO named *.conf (must not hang)', '20-fifo.conf', (p) => sh('mkfifo', [p]), { reason: 'regular file' }),
    { ...entryCase('unreadable file (mode 000, no CAP_DAC_*)', '20-unreadable.conf', async (p) => { await fsp.writeFile(p, GOOD); await fsp.chmod(p, 0); }, { reason: 'permission denied' }), ...unreadable },
    { name: 'pinned: file absent', args: () => PIN('20-absent.conf'), code: 1, names: (h) => [join(h.confDir, '20-absent.conf')] },

    // --- service account
    { name: 'token: missing', setup: (h) => fsp.rm(join(h.saDir, 'token')), code: 1, names: (h) => [join(h.saDir, 'token')] },
    { name: 'token: empty', setup: (h) => writeServiceAccount(h.saDir, '', 'CA\n'), code: 1, names: (h) => [join(h.saDir, 'token'), 'empty'] },
    { name: 'token: only whitespace', setup: (h) => writeServiceAccount(h.saDir, ' \n\t\n', 'CA\n'), code: 1, names: (h) => [join(h.saDir, 'token')] },
    { name: 'token: whitespace inside', setup: (h) => writeServiceAccount(h.saDir, `${TOKEN} ${TOKEN}`, 'CA\n'), code: 1, names: (h) => [join(h.saDir, 'token')] },
    { name: 'token: is a directory', setup: async (h) => { await fsp.rm(join(h.saDir, 'token')); await fsp.mkdir(join(h.saDir, 'token')); }, code: 1, names: (h) => [join(h.saDir, 'token')] },
    { name: 'token: unreadable (mode 000, no CAP_DAC_*)', setup: (h) => fsp.chmod(join(h.saDir, 'token'), 0), code: 1, names: (h) => [join(h.saDir, 'token'), 'permission denied'], ...unreadable },
    {
      name: 'token: ..data points nowhere',
      setup: async (h) => { const target = await fsp.readlink(join(h.saDir, '..data')); await fsp.rm(join(h.saDir, target), { recursive: true }); },
      code: 1,
      names: (h) => [join(h.saDir, 'token')],
    },
    { name: 'CA: missing', setup: (h) => fsp.rm(join(h.saDir, 'ca.crt')), code: 1, names: (h) => [join(h.saDir, 'ca.crt')] },
    { name: 'CA: empty', setup: (h) => writeServiceAccount(h.saDir, TOKEN, ''), code: 1, names: (h) => [join(h.saDir, 'ca.crt')] },
    { name: 'CA: KUBE_CA_FILE missing', env: (h) => ({ KUBE_CA_FILE: join(h.root, 'no-ca.crt') }), code: 1, names: (h) => [join(h.root, 'no-ca.crt')] },

    // --- environment
    { name: 'env: KUBERNETES_SERVICE_HOST missing', env: () => ({ KUBERNETES_SERVICE_HOST: undefined }), code: 1, names: () => ['KUBERNETES_SERVICE_HOST'] },
    { name: 'env: KUBERNETES_SERVICE_PORT missing', env: () => ({ KUBERNETES_SERVICE_PORT: undefined }), code: 1, names: () => ['KUBERNETES_SERVICE_PORT'] },
    { name: 'env: KUBECONFIG_MODE not octal', env: () => ({ KUBECONFIG_MODE: 'rw-------' }), code: 2, names: () => ['KUBECONFIG_MODE'] },

    // --- flags
    flagCase('traversal ../x in --multus-master-cni-file-name', ['--multus-master-cni-file-name=../x'], '--multus-master-cni-file-name'),
    flagCase('a/b in --multus-master-cni-file-name', ['--multus-master-cni-file-name=a/b'], '--multus-master-cni-file-name'),
    flagCase('.. as --multus-master-cni-file-name', ['--multus-master-cni-file-name', '..'], '--multus-master-cni-file-name'),
    flagCase('unknown flag', ['--multus-config-file=auto'], '--multus-config-file'),
    flagCase('bad boolean', ['--namespace-isolation=yes'], '--namespace-isolation'),
    flagCase('boolean with a stray word', ['--skip-tls-verify', 'please'], '--skip-tls-verify'),
    flagCase('negative timeout', ['--master-cni-wait-timeout=-1'], '--master-cni-wait-timeout'),
    flagCase('timeout not a number', ['--master-cni-wait-timeout', '10m'], '--master-cni-wait-timeout'),
    flagCase('health port out of range', ['--health-port=70000'], '--health-port'),
    flagCase('unknown Multus log level', ['--multus-log-level=trace'], '--multus-log-level'),
    flagCase('unknown log format', ['--log-format=xml'], '--log-format'),
    flagCase('--cni-version not a version', ['--cni-version=v1'], '--cni-version'),
    flagCase('--resync-interval=0', ['--resync-interval=0'], '--resync-interval'),
    flagCase('empty --cni-conf-dir', ['--cni-conf-dir='], '--cni-conf-dir'),
    flagCase('--multus-conf-file without a value', ['--multus-conf-file'], '--multus-conf-file'),
    { name: 'flag: --cni-version differs from the master', args: () => ['--cni-version=1.0.0'], code: 1, names: (h) => [join(h.confDir, MASTER), '--cni-version'] },
    {
      name: 'flag: --override-network-name, master without a name',
      setup: (h) => fsp.writeFile(join(h.confDir, MASTER), GOOD.replace('"name": "cbr0",', '')),
      args: () => ['--override-network-name'],
      code: 1,
      names: (h) => [join(h.confDir, MASTER), 'name'],
    },

    // --- binary, non-auto source, directories
    { name: 'binary: --multus-bin-file missing', args: (h) => [`--multus-bin-file=${h.root}/image/nope`], code: 1, names: (h) => [`${h.root}/image/nope`] },
    { name: 'binary: --multus-bin-file is a directory', args: (h) => [`--multus-bin-file=${h.root}/image`], code: 1, names: (h) => [`${h.root}/image`] },
    {
      name: 'binary: --cni-bin-dir is a file',
      setup: (h) => fsp.writeFile(join(h.root, 'bin-file'), 'x'),
      args: (h) => [`--cni-bin-dir=${h.root}/bin-file`],
      code: 1,
      names: (h) => [`${h.root}/bin-file`],
    },
    { name: 'non-auto: --multus-conf-file missing', args: (h) => [`--multus-conf-file=${h.root}/nope.conf`], code: 1, names: (h) => [`${h.root}/nope.conf`] },
    {
      name: 'non-auto: --multus-conf-file malformed',
      setup: (h) => fsp.writeFile(join(h.root, 'custom.conf'), '{"cniVersion": '),
      args: (h) => [`--multus-conf-file=${h.root}/custom.conf`],
      code: 1,
      names: (h) => [`${h.root}/custom.conf`],
    },
    { name: 'non-auto: --multus-conf-file is a directory', args: (h) => [`--multus-conf-file=${h.root}/image`], code: 1, names: (h) => [`${h.root}/image`] },
    {
      name: 'dirs: --multus-autoconfig-dir is a file',
      setup: (h) => fsp.writeFile(join(h.root, 'auto-file'), 'x'),
      args: (h) => [`--multus-autoconfig-dir=${h.root}/auto-file`],
      code: 1,
      names: (h) => [`${h.root}/auto-file`],
    },
  ];

  // --- unwritable and full filesystems (root ignores file modes: mounts and chattr)
  const readOnly = (what, dir, change) => {
    if (ab.canMount) {
      return {
        name: `unwritable: read-only ${what} (bind mount)`,
        setup: async (h) => { await change(h); sh('mount', ['--bind', dir(h), dir(h)]); sh('mount', ['-o', 'remount,bind,ro', dir(h), dir(h)]); },
        cleanup: async (h) => { sh('umount', [dir(h)]); },
      };
    }
    if (ab.canChattr) {
      return {
        name: `unwritable: immutable ${what} (chattr +i on the dir; no mounts here)`,
        setup: async (h) => { await change(h); sh('chattr', ['+i', dir(h)]); },
        cleanup: async (h) => { sh('chattr', ['-i', dir(h)]); },
      };
    }
    if (!ab.isRoot) {
      return {
        name: `unwritable: ${what} mode 0555`,
        setup: async (h) => { await change(h); await fsp.chmod(dir(h), 0o555); },
        cleanup: async (h) => { await fsp.chmod(dir(h), 0o755); },
      };
    }
    return { name: `unwritable: read-only ${what}`, skip: 'root without mounts or chattr: nothing makes a dir unwritable' };
  };
  cases.push(
    { ...readOnly('conf dir', (h) => h.confDir, editMaster), code: 1, names: (h) => [join(h.confDir, '00-multus.conf')] },
    { ...readOnly('multus.d', (h) => h.multusD, rotate), code: 1, names: (h) => [h.kubeconfig] },
    ab.canChattr
      ? {
        name: 'unwritable: immutable 00-multus.conf (chattr +i)',
        setup: async (h) => { await editMaster(h); sh('chattr', ['+i', join(h.confDir, '00-multus.conf')]); },
        cleanup: async (h) => { sh('chattr', ['-i', join(h.confDir, '00-multus.conf')]); },
        code: 1,
        names: (h) => [join(h.confDir, '00-multus.conf')],
      }
      : { name: 'unwritable: immutable 00-multus.conf', skip: 'chattr +i is not available here' },
  );
  if (ab.canMount) {
    const fill = async (dir) => {
      const fh = await fsp.open(join(dir, 'filler'), 'w');
      try { for (;;) await fh.write(Buffer.alloc(1024, 1)); } catch (err) { if (err.code !== 'ENOSPC') throw err; } finally { await fh.close(); }
    };
    cases.push(
      {
        name: 'full disk: conf dir on a 64k tmpfs (ENOSPC)',
        // The master lives outside the full filesystem so that it can still be edited.
        before: async (h) => {
          sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', h.confDir]);
          await fsp.mkdir(join(h.root, 'auto'));
          await fsp.writeFile(join(h.root, 'auto', MASTER), GOOD);
        },
        base: (h) => [`--multus-autoconfig-dir=${h.root}/auto`],
        setup: async (h) => { await fill(h.confDir); await editMaster(h, join(h.root, 'auto')); },
        cleanup: async (h) => { sh('umount', [h.confDir]); },
        code: 1,
        names: (h) => [join(h.confDir, '00-multus.conf'), 'no space left'],
      },
      {
        name: 'full disk: conf dir full while the master moves to cniVersion 1.0.0 (a .conflist)',
        before: async (h) => {
          sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', h.confDir]);
          await fsp.mkdir(join(h.root, 'auto'));
          await fsp.writeFile(join(h.root, 'auto', MASTER), GOOD);
        },
        base: (h) => [`--multus-autoconfig-dir=${h.root}/auto`],
        setup: async (h) => { await fill(h.confDir); await fsp.writeFile(join(h.root, 'auto', MASTER), GOOD.replace('"0.3.1"', '"1.0.0"')); },
        cleanup: async (h) => { sh('umount', [h.confDir]); },
        code: 1,
        names: (h) => [join(h.confDir, '00-multus.conflist'), 'no space left'],
      },
      {
        name: 'full disk: conf dir full, --rename-conf-file must not rename a master whose config was not written',
        before: async (h) => {
          sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', h.confDir]);
          await fsp.mkdir(join(h.root, 'auto'));
          await fsp.writeFile(join(h.root, 'auto', MASTER), GOOD);
        },
        base: (h) => [`--multus-autoconfig-dir=${h.root}/auto`],
        setup: async (h) => { await fill(h.confDir); await editMaster(h, join(h.root, 'auto')); },
        args: () => ['--rename-conf-file'],
        cleanup: async (h) => { sh('umount', [h.confDir]); },
        code: 1,
        names: (h) => [join(h.confDir, '00-multus.conf'), 'no space left'],
        check: async (h) => ((await exists(join(h.root, 'auto', MASTER))) ? [] : [`${MASTER} was renamed to ${MASTER}.old although its config was not written`]),
      },
      {
        name: 'full disk: bin dir on a 64k tmpfs (ENOSPC)',
        before: (h) => { sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', h.binDir]); },
        setup: async (h) => { await fill(h.binDir); await fsp.writeFile(h.srcBinary, Buffer.alloc(256 * 1024, 7), { mode: 0o755 }); },
        cleanup: async (h) => { sh('umount', [h.binDir]); },
        code: 1,
        names: (h) => [join(h.binDir, 'multus'), 'no space left'],
      },
    );
  } else {
    cases.push({ name: 'full disk (ENOSPC)', skip: 'cannot mount a tmpfs here (not root, or no mount namespace)' });
  }
  return cases;
}

/** True when text names `name` as a whole (a path is not named by a longer path it prefixes). */
function names(text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${escaped}(?![\\w.-])`).test(text);
}

/** The files a first good run leaves and that a bad input must not touch. */
async function snapshot(h) {
  const out = {};
  for (const p of [join(h.confDir, '00-multus.conf'), join(h.confDir, '00-multus.conflist'), h.kubeconfig, join(h.binDir, 'multus')]) {
    out[p] = await fsp.readFile(p).catch(() => undefined);
  }
  return out;
}

async function runCase(c) {
  const root = await newRootDir('bad');
  const h = hostAt(root);
  const faults = [];
  let r;
  try {
    for (const d of [h.confDir, h.binDir, join(root, 'image')]) await fsp.mkdir(d, { recursive: true });
    await writeServiceAccount(h.saDir, TOKEN, 'CA-1\n');
    await fsp.writeFile(h.srcBinary, '#!/bin/sh\necho fake multus\n', { mode: 0o755 });
    await c.before?.(h);
    await fsp.writeFile(join(h.confDir, MASTER), GOOD);
    const base = c.base?.(h) ?? [];
    const first = await runProgram([...h.args, ...base, '--once'], h.env);
    if (first.code !== 0) throw new Error(`the first (good) run failed: exit ${first.code}\n${first.stderr}`);
    const before = await snapshot(h);
    if (!before[join(h.confDir, '00-multus.conf')]) throw new Error('the first run wrote no 00-multus.conf');
    await c.setup?.(h);
    const env = { ...h.env, ...(c.env?.(h) ?? {}) };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    r = await runProgram([...h.args, ...base, '--once', '--master-cni-wait-timeout=0', ...(c.args?.(h) ?? [])], env, { wrap: c.wrap ?? [], timeoutMs: 30_000 });
    if (r.timedOut) faults.push('did not finish within 30 s');
    if (r.code !== c.code) faults.push(`exit ${r.code ?? r.signal}, want ${c.code}`);
    // The message is the error line (or the usage error); with auto selection
    // the line that says why the bad file was skipped counts as well.
    const message = r.stderr.split('\n').filter((l) => / ERROR |^multus-entrypoint: /.test(l) || (c.auto && /skipped a candidate/.test(l))).join('\n');
    for (const name of c.names(h)) if (!names(message, name)) faults.push(`the error message does not name ${JSON.stringify(name)}`);
    if (!/^(multus-entrypoint: |.*\bERROR\b)/m.test(r.stderr)) faults.push('no error line on stderr');
    const trace = stackTraceLine(r.stderr);
    if (trace) faults.push(`stack trace on stderr: ${trace.trim()}`);
    if ((r.stdout + r.stderr).includes(TOKEN)) faults.push('the token shows in the output');
    // Looked at before any mount is undone (a tmpfs hides what is under it).
    const after = await snapshot(h);
    for (const [p, buf] of Object.entries(before)) {
      const now = after[p];
      if (!(buf === undefined ? now === undefined : now !== undefined && buf.equals(now))) faults.push(`${p.slice(root.length + 1)} changed`);
    }
    const temps = await leftoverTemps(root);
    if (temps.length) faults.push(`temporary files left: ${temps.join(', ')}`);
    faults.push(...(await c.check?.(h)) ?? []);
  } catch (err) {
    faults.push(`harness: ${err.message}`);
  } finally {
    try { await c.cleanup?.(h); } catch (err) { faults.push(`harness cleanup: ${err.message}`); }
    if (await exists(root)) await fsp.rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
  return { name: c.name, faults, stderr: r?.stderr ?? '', code: r?.code };
}

export async function badInputPhase({ abilities, width, log, verbose }) {
  const all = corpus(abilities);
  const skipped = all.filter((c) => c.skip);
  const cases = all.filter((c) => !c.skip);
  for (const c of skipped) log(`  skipped: ${c.name}: ${c.skip}`);
  const results = await inParallel(cases, width, runCase);
  for (const r of results) {
    if (r.faults.length) {
      const last = r.stderr.trim().split('\n').slice(-2).join('\n      ');
      log(`  FAIL ${r.name}: ${r.faults.join('; ')}\n      stderr: ${last}`);
    } else if (verbose) {
      log(`  ok   ${r.name} -> exit ${r.code}: ${r.stderr.trim().split('\n').at(-1).replace(/^\S+ /, '')}`);
    }
  }
  const ok = results.filter((r) => !r.faults.length).length;
  // Skipped cases stay in the total: a skip must not read as all clear.
  log(`bad inputs: ${ok}/${all.length} clear, ${skipped.length} skipped on this machine`);
  return { ok, total: all.length, skipped: skipped.length };
}
