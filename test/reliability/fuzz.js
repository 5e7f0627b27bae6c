// Property-based fuzzing of the pure core (the built dist/ modules): valid
// master configs, single and lists, any cniVersion, random capabilities and
// extra keys, rendered with random flags. Each generated case is checked
// against an oracle written from docs/behaviour.md, not from the code.
import * as fc from 'fast-check';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DIST } from './lib.js';

const { checkCandidate, selectMaster } = await import(join(DIST, 'core', 'master.js'));
const { renderMultusConfig } = await import(join(DIST, 'core', 'multus-config.js'));

const DEFAULT_KUBECONFIG = '/etc/cni/net.d/multus.d/multus.kubeconfig';

// ---------------------------------------------------------------- generators

const version = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0') },
  { weight: 2, arbitrary: fc.tuple(fc.nat(12), fc.nat(12), fc.nat(12)).map(([a, b, c]) => `${a}.${b}.${c}`) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(3), fc.nat(12)).map(([a, b]) => `${a}.${b}`) },
  { weight: 1, arbitrary: fc.nat(3).map(String) },
);
const capKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('portMappings', 'bandwidth', 'ips', 'mac', 'dns', 'ipRanges', 'aliases', 'deviceID', 'io.kubernetes.cri.pod-annotations') },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '') },
);
/** Capabilities as an ordered list of [key, boolean] (JSON text is built from entries, so any key is an own key). */
const capabilities = fc.uniqueArray(fc.tuple(capKey, fc.boolean()), { maxLength: 6, selector: ([k]) => k });
const extraKey = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('ipam', 'dns', 'args', 'runtimeConfig', 'delegates', 'kubeconfig', 'plugins', 'logLevel', '__proto__', 'constructor') },
);
const extras = (reserved) => fc.uniqueArray(fc.tuple(extraKey.filter((k) => !reserved.includes(k)), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4, selector: ([k]) => k });
const pluginType = fc.oneof(
  fc.constantFrom('bridge', 'portmap', 'bandwidth', 'flannel', 'calico', 'cilium-cni', 'tuning', 'firewall', 'macvlan', 'sbr'),
  fc.string({ maxLength: 12 }),
).filter((t) => t !== 'multus' && t !== 'multus-shim');
const netName = fc.string({ minLength: 1, maxLength: 20 });

/** JSON text already built (a nested object whose keys must stay own keys). */
const RAW = Symbol('raw JSON');
const raw = (text) => ({ [RAW]: text });
const jsonOf = (v) => (v !== null && typeof v === 'object' && RAW in v ? v[RAW] : JSON.stringify(v));
const entriesJson = (entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonOf(v)}`).join(',')}}`;
const capsJson = (caps) => entriesJson(caps);

const plugin = fc.record({ type: pluginType, caps: fc.option(capabilities, { freq: 2 }), extras: extras(['type', 'capabilities']) });

/** A generated master: { kind, fileName, text, plugins/caps for the oracle }. */
const singleMaster = fc.record({
  cniVersion: version, name: netName, type: pluginType, caps: fc.option(capabilities, { freq: 3 }),
  extras: extras(['cniVersion', 'name', 'type', 'capabilities']), ext: fc.constantFrom('.conf', '.json'), indent: fc.boolean(),
}).map((m) => {
  const entries = [['cniVersion', m.cniVersion], ['name', m.name], ['type', m.type], ...m.extras];
  if (m.caps) entries.splice(3, 0, ['capabilities', raw(capsJson(m.caps))]);
  return { kind: 'single', fileName: `10-fuzz${m.ext}`, text: pretty(entriesJson(entries), m.indent), capSources: [m.caps ?? []] };
});
const listMaster = fc.record({
  cniVersion: version, name: netName, plugins: fc.array(plugin, { minLength: 1, maxLength: 4 }),
  topCaps: fc.option(capabilities, { freq: 4 }), extras: extras(['cniVersion', 'name', 'plugins', 'capabilities']), indent: fc.boolean(),
}).map((m) => {
  const plugins = m.plugins.map((p) => {
    const e = [['type', p.type], ...p.extras];
    if (p.caps) e.push(['capabilities', raw(capsJson(p.caps))]);
    return raw(entriesJson(e));
  });
  const entries = [['cniVersion', m.cniVersion], ['name', m.name], ...m.extras, ['plugins', raw(`[${plugins.map(jsonOf).join(',')}]`)]];
  // A list's own top-level "capabilities" are not a plugin's: the contract takes the union of the plugins' only.
  if (m.topCaps) entries.splice(2, 0, ['capabilities', raw(capsJson(m.topCaps))]);
  return { kind: 'list', fileName: '10-fuzz.conflist', text: pretty(entriesJson(entries), m.indent), capSources: m.plugins.map((p) => p.caps ?? []) };
});

/** Some masters end in a newline, as files written by hand do. */
function pretty(text, newline) {
  return newline ? `${text}\n` : text;
}

const optional = (arb) => fc.oneof(fc.constant(''), arb);
const renderOptions = fc.record({
  versionMode: fc.constantFrom('none', 'none', 'same', 'force'),
  forced: version,
  overrideNetworkName: fc.boolean(),
  namespaceIsolation: fc.boolean(),
  globalNamespaces: optional(fc.string({ minLength: 1, maxLength: 20 })),
  multusLogToStderr: fc.boolean(),
  multusLogLevel: fc.constantFrom('', 'debug', 'verbose', 'error', 'panic'),
  multusLogFile: optional(fc.string({ minLength: 1, maxLength: 20 })),
  additionalBinDir: optional(fc.string({ minLength: 1, maxLength: 20 })),
  readinessIndicatorFile: optional(fc.string({ minLength: 1, maxLength: 20 })),
  multusKubeconfigFileHost: fc.oneof(fc.constant(DEFAULT_KUBECONFIG), fc.string({ minLength: 1, maxLength: 30 })),
});

export const fuzzCase = fc.tuple(fc.oneof(singleMaster, listMaster), renderOptions);

// ---------------------------------------------------------------- oracle

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Own-key union, later sources winning; insertion order of first appearance. */
function union(sources) {
  const out = {};
  for (const caps of sources) for (const [k, v] of caps) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Gives the faults of one generated case (empty when it holds). */
export function checkCase([m, g]) {
  const faults = [];
  const masterJson = JSON.parse(m.text);
  const verdict = checkCandidate({ name: m.fileName, diskName: m.fileName, text: m.text });
  if (!('master' in verdict)) return [`checkCandidate rejected a valid master: ${verdict.reason}`];
  if (!isDeepStrictEqual(verdict.master.config, masterJson)) faults.push('checkCandidate changed the config');
  const sel = selectMaster([{ name: m.fileName, diskName: m.fileName, text: m.text }], m.fileName);
  if (sel.kind !== 'found') faults.push(`selectMaster (pinned) gave ${sel.kind}`);

  const own = masterJson.cniVersion;
  const o = {
    cniVersion: g.versionMode === 'none' ? '' : g.versionMode === 'same' ? own : g.forced,
    forceCniVersion: g.versionMode === 'force',
    overrideNetworkName: g.overrideNetworkName,
    namespaceIsolation: g.namespaceIsolation,
    globalNamespaces: g.globalNamespaces,
    multusLogToStderr: g.multusLogToStderr,
    multusLogLevel: g.multusLogLevel,
    multusLogFile: g.multusLogFile,
    additionalBinDir: g.additionalBinDir,
    readinessIndicatorFile: g.readinessIndicatorFile,
    multusKubeconfigFileHost: g.multusKubeconfigFileHost,
  };
  let r;
  try {
    r = renderMultusConfig(m.fileName, verdict.master.config, o);
  } catch (err) {
    return [...faults, `renderMultusConfig threw: ${err.name}: ${err.message}`];
  }
  let out;
  try {
    out = JSON.parse(r.content);
  } catch (err) {
    return [...faults, `output does not parse: ${err.message}`];
  }
  if (!r.content.endsWith('\n')) faults.push('output does not end in a newline');
  const effective = o.cniVersion === '' ? own : o.cniVersion;
  const conflist = compareVersions(effective, '1.0.0') >= 0;
  if (r.fileName !== (conflist ? '00-multus.conflist' : '00-multus.conf')) faults.push(`file ${r.fileName} for cniVersion ${effective}`);
  if (r.twinName !== (conflist ? '00-multus.conf' : '00-multus.conflist')) faults.push(`twin ${r.twinName} for cniVersion ${effective}`);
  if (out.cniVersion !== effective) faults.push(`cniVersion ${out.cniVersion}, want ${effective}`);
  const wantName = o.overrideNetworkName ? masterJson.name : 'multus-cni-network';
  if (out.name !== wantName) faults.push('name is not the expected network name');

  const wantCaps = union(m.capSources);
  const keys = [];
  if (Object.keys(wantCaps).length) keys.push('capabilities');
  if (o.namespaceIsolation) keys.push('namespaceIsolation');
  if (o.globalNamespaces) keys.push('globalNamespaces');
  if (!o.multusLogToStderr) keys.push('logToStderr');
  if (o.multusLogLevel) keys.push('logLevel');
  if (o.multusLogFile) keys.push('logFile');
  if (o.additionalBinDir) keys.push('binDir');
  if (o.readinessIndicatorFile) keys.push('readinessindicatorfile');
  keys.push('kubeconfig', 'delegates');
  let multus;
  if (conflist) {
    if (!isDeepStrictEqual(Object.keys(out), ['cniVersion', 'name', 'plugins'])) faults.push(`conflist keys ${Object.keys(out)}`);
    if (!Array.isArray(out.plugins) || out.plugins.length !== 1) return [...faults, 'conflist has not exactly one plugin'];
    multus = out.plugins[0];
    if (!isDeepStrictEqual(Object.keys(multus), ['type', ...keys])) faults.push(`plugin keys [${Object.keys(multus)}], want [type,${keys}]`);
  } else {
    multus = out;
    if (!isDeepStrictEqual(Object.keys(out), ['cniVersion', 'name', 'type', ...keys])) faults.push(`keys [${Object.keys(out)}], want [cniVersion,name,type,${keys}]`);
  }
  if (multus.type !== 'multus') faults.push('type is not multus');
  if (keys.includes('capabilities') && !isDeepStrictEqual(multus.capabilities, wantCaps)) {
    faults.push(`capabilities ${JSON.stringify(multus.capabilities)}, want the union ${JSON.stringify(Object.entries(wantCaps))}`);
  }
  if (!keys.includes('capabilities') && 'capabilities' in multus) faults.push(`capabilities ${JSON.stringify(multus.capabilities)} where the union ${JSON.stringify(Object.entries(wantCaps))} is empty`);
  if (o.namespaceIsolation && multus.namespaceIsolation !== true) faults.push('namespaceIsolation');
  if (o.globalNamespaces && multus.globalNamespaces !== o.globalNamespaces) faults.push('globalNamespaces');
  if (!o.multusLogToStderr && multus.logToStderr !== false) faults.push('logToStderr');
  if (o.multusLogLevel && multus.logLevel !== o.multusLogLevel) faults.push('logLevel');
  if (o.multusLogFile && multus.logFile !== o.multusLogFile) faults.push('logFile');
  if (o.additionalBinDir && multus.binDir !== o.additionalBinDir) faults.push('binDir');
  if (o.readinessIndicatorFile && multus.readinessindicatorfile !== o.readinessIndicatorFile) faults.push('readinessindicatorfile');
  if (multus.kubeconfig !== o.multusKubeconfigFileHost) faults.push('kubeconfig');
  const wantDelegate = JSON.parse(m.text);
  if (effective !== own) wantDelegate.cniVersion = effective;
  if (!Array.isArray(multus.delegates) || multus.delegates.length !== 1) faults.push('delegates is not a list of one');
  else if (!isDeepStrictEqual(multus.delegates[0], wantDelegate)) faults.push('delegates[0] is not the master');
  return faults;
}

// ---------------------------------------------------------------- the phase

/** What is unusual about a generated master, to group failures by likely cause. */
function traits(m) {
  const t = [];
  if (m.capSources.some((caps) => caps.some(([k]) => k === '__proto__'))) t.push('a capability named "__proto__"');
  if (m.kind === 'single' && Object.hasOwn(JSON.parse(m.text), 'plugins')) t.push('a single-plugin config with a "plugins" key');
  return t.length ? ` [masters with ${t.join(' and ')}]` : '';
}

export function fuzzPhase({ runs, seed, log }) {
  const t0 = performance.now();
  const samples = fc.sample(fuzzCase, { numRuns: runs, seed });
  const kinds = { single: 0, list: 0, conflistOut: 0, withCaps: 0 };
  const byFault = new Map();
  let ok = 0;
  for (const s of samples) {
    kinds[s[0].kind]++;
    let faults;
    try {
      faults = checkCase(s);
    } catch (err) {
      faults = [`oracle threw: ${err.message}`];
    }
    if (s[0].capSources.some((c) => c.length)) kinds.withCaps++;
    if (faults.length === 0) { ok++; continue; }
    const key = `${faults[0].replace(/\{.*$|\[.*$|".*$|\d[\d.]*/g, '…')}${traits(s[0])}`;
    if (!byFault.has(key)) byFault.set(key, { count: 0, example: s, faults });
    byFault.get(key).count++;
  }
  log(`fuzz: ${samples.length} masters (${kinds.single} single, ${kinds.list} lists, ${kinds.withCaps} with capabilities) in ${Math.round(performance.now() - t0)} ms, seed ${seed}`);
  for (const [key, f] of byFault) {
    log(`  FAIL ${f.count}x: ${key}`);
    log(`    e.g. ${f.faults.join('; ')}`);
  }
  if (byFault.size) {
    // A minimal counterexample for the first failure, by fast-check's shrinking.
    const details = fc.check(fc.property(fuzzCase, (c) => checkCase(c).length === 0), { numRuns: runs, seed });
    if (details.failed) {
      const [m, g] = details.counterexample[0];
      log(`  shrunk counterexample: ${m.fileName}: ${m.text.trim()}\n    options: ${JSON.stringify(g)}\n    faults: ${checkCase([m, g]).join('; ')}`);
    }
  }
  return { ok, total: samples.length };
}
