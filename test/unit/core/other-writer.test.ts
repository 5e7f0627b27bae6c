// Naming the other writer, the pure part: what a restore says happened, who
// is known to do that and the fix, the fight's words, and which config the
// runtime would load instead of ours.
import { describe, expect, it } from '@jest/globals';
import { describeEvent } from '../../../src/cluster/events.js';
import { INVALIDATED_CONTENT } from '../../../src/core/multus-config.js';
import { describeFight, describeTampering, outranking, overwrittenBy, renamedBy } from '../../../src/core/other-writer.js';

const OURS = '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","kubeconfig":"/k","delegates":[{"type":"flannel"}]}\n';
const BRIDGE = '{"cniVersion":"0.3.1","name":"b","type":"bridge"}';

describe('who renamed it', () => {
  it('*.cilium_bak: Cilium\'s cni.exclusive, and the fix', () => {
    expect(renamedBy('00-multus.conf.cilium_bak')).toEqual({
      agent: 'Cilium with cni.exclusive=true, which renames every other CNI config to *.cilium_bak',
      fix: 'set cni.exclusive=false in Cilium\'s Helm values (cni-exclusive: "false" in the cilium-config ConfigMap)',
    });
  });
  it('an unknown name: no guess', () => {
    expect(renamedBy('00-multus.conf.bak')).toEqual({});
  });
});

describe('who overwrote it', () => {
  it('another Multus installer: a different Multus config, or the invalidated one', () => {
    expect(overwrittenBy(OURS.replace('flannel', 'calico')).agent).toMatch(/^another Multus installer/);
    expect(overwrittenBy(INVALIDATED_CONTENT).agent).toMatch(/^another Multus installer, which invalidated it/);
    expect(overwrittenBy('{"cniVersion":"1.0.0","name":"m","plugins":[{"type":"multus-shim"}]}').fix).toBe('run one Multus DaemonSet per node: remove the other one');
  });
  it('a chained-plugin installer that inserted itself, named by the plugin it added', () => {
    const chained = JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', plugins: [JSON.parse(OURS), { type: 'istio-cni' }] });
    expect(overwrittenBy(chained)).toEqual({
      agent: 'an installer of chained plugins, which added istio-cni to the Multus config (istio-cni and linkerd-cni insert themselves into the first config they find)',
      fix: 'have it chain into the master config, which this program copies into the Multus config as its first delegate',
    });
  });
  it('anything else: no guess', () => {
    expect(overwrittenBy(BRIDGE)).toEqual({});
    expect(overwrittenBy('not json')).toEqual({});
  });
});

describe('the words of a restore and a fight', () => {
  it('says renamed to <name>, removed, overwritten, and the agent and fix when known', () => {
    expect(describeTampering({ what: 'renamed', to: '00-multus.conf.cilium_bak', ...renamedBy('00-multus.conf.cilium_bak') }))
      .toBe('renamed to 00-multus.conf.cilium_bak by someone else: Cilium with cni.exclusive=true, which renames every other CNI config to *.cilium_bak; set cni.exclusive=false in Cilium\'s Helm values (cni-exclusive: "false" in the cilium-config ConfigMap)');
    expect(describeTampering({ what: 'removed' })).toBe('removed by someone else');
    expect(describeTampering({ what: 'overwritten' })).toBe('overwritten by someone else');
    expect(describeTampering({ what: 'mode changed' })).toBe('given another file mode by someone else');
  });
  it('a fight names the last thing done and the fix, or where to look', () => {
    expect(describeFight('Multus config', 3, 60, { what: 'renamed', to: 'x.cilium_bak', ...renamedBy('x.cilium_bak') }))
      .toMatch(/^another writer keeps changing the Multus config \(3 times in 60 s, last renamed to x\.cilium_bak\): Cilium with cni\.exclusive=true.*; set cni\.exclusive=false/);
    expect(describeFight('kubeconfig', 4, 60)).toBe('another writer keeps changing the kubeconfig (4 times in 60 s): find and stop it');
  });
  it('the Events carry the same words', () => {
    const how = { what: 'renamed' as const, to: '00-multus.conf.cilium_bak', ...renamedBy('00-multus.conf.cilium_bak') };
    expect(describeEvent({ kind: 'wrote', file: 'config', path: '/d/00-multus.conf', cause: 'restored', how })?.note)
      .toBe(`restored the Multus config /d/00-multus.conf: it was ${describeTampering(how)}`);
    expect(describeEvent({ kind: 'fight', file: 'config', path: '/d/00-multus.conf', times: 3, windowSeconds: 60, how })?.note)
      .toBe(describeFight('Multus config /d/00-multus.conf', 3, 60, how));
    expect(describeEvent({ kind: 'outranked', path: '/d/00-multus.conf', by: '/d/00-aaa.conf' })).toEqual({
      type: 'Warning', reason: 'ConfigOutranked', action: 'Check',
      note: '/d/00-aaa.conf sorts before /d/00-multus.conf and is a valid CNI config: the container runtime loads it instead of Multus, so pods get no secondary networks; remove it, or rename it to sort after 00-multus.conf',
    });
    expect(describeEvent({ kind: 'outranked', path: '/d/00-multus.conf' })).toBeUndefined();
  });
});

describe('a config the runtime would load instead of ours', () => {
  const f = (name: string, text = BRIDGE): { name: string; text: string } => ({ name, text });
  it('is the first valid one that sorts before ours, in byte order', () => {
    expect(outranking([f('00-zzz.conf'), f('00-aaa.conflist', '{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}'), f('10-flannel.conflist')], '00-multus.conf')).toBe('00-aaa.conflist');
    expect(outranking([f('.hidden.json')], '00-multus.conf')).toBe('.hidden.json');
  });
  it('skips invalid ones (CRI-O does), names that sort after ours, and other extensions', () => {
    expect(outranking([f('00-aaa.conf', '{broken'), f('00-bbb.conf', '{"type":"bridge"}'), f('10-flannel.conflist'), f('00-aaa.conf.bak')], '00-multus.conf')).toBeUndefined();
    // Under the .conflist rules a single plugin is not a list, and the other way round.
    expect(outranking([f('00-aaa.conflist', BRIDGE)], '00-multus.conf')).toBeUndefined();
  });
  it('another Multus config sorting first counts too', () => {
    expect(outranking([f('00-multus-old.conf', OURS)], '00-multus.conflist')).toBe('00-multus-old.conf');
  });
});
