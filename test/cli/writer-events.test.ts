// The other writer named where an operator looks: the running command
// against the fake API server on 127.0.0.1, with a Cilium-like fighter (a
// loop renaming our config to *.cilium_bak, as cni.exclusive does) and a
// config that sorts before ours. The Events and /readyz say who and what to
// change.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { useFakeApi } from '../helpers/api-server.js';
import { freePort, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, useHostRoot } from '../helpers/host-root.js';
import { httpGet, type HttpAnswer } from '../helpers/http.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
const fake = useFakeApi();
beforeEach(async () => {
  await fake.serve();
});

const confPath = (): string => join(h.confDir, '00-multus.conf');
const notes = (reason: string): string[] => fake.api.events.filter((e) => e.reason === reason).map((e) => String(e.note));

const readyz = (port: number): Promise<HttpAnswer> => httpGet(port, '/readyz');

describe('naming the other writer', () => {
  it('a Cilium-like fighter: each restore and the fight name Cilium\'s cni.exclusive and the fix', async () => {
    const run = await startDaemon(h, [], fake.env(h.env));
    // What cilium-agent does with cni.exclusive=true: rename every foreign config.
    for (let i = 1; i <= 3; i++) {
      await eventually(() => fsp.access(confPath()).then(() => true, () => false), (ok) => ok, 20_000, `the config back (${i})`);
      await fsp.rename(confPath(), `${confPath()}.cilium_bak`);
      await run.waitForLog(new RegExp(`(restored the Multus config[^\\n]*\\n[^]*){${i}}`), 20_000);
    }
    await eventually(async () => notes('WriterFight').length, (n) => n >= 1, 20_000, 'the WriterFight Event');
    expect(notes('ConfigRestored')[0]).toBe(`restored the Multus config ${confPath()}: it was renamed to 00-multus.conf.cilium_bak by someone else: Cilium with cni.exclusive=true, which renames every other CNI config to *.cilium_bak; set cni.exclusive=false in Cilium's Helm values (cni-exclusive: "false" in the cilium-config ConfigMap)`);
    expect(notes('WriterFight')[0]).toMatch(new RegExp(`^another writer keeps changing the Multus config ${confPath()} \\(3 times in 60 s, last renamed to 00-multus\\.conf\\.cilium_bak\\): Cilium with cni\\.exclusive=true.*; set cni\\.exclusive=false`));
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/WARN  another writer keeps changing the Multus config \(3 times in 60 s, last renamed to 00-multus.conf.cilium_bak\): Cilium with cni.exclusive=true/);
  });

  it('a valid config sorting before ours: /readyz fails naming it, a Warning Event names it; ready again once it is gone', async () => {
    const port = await freePort();
    const run = await startDaemon(h, [`--health-port=${port}`], fake.env(h.env));
    expect((await readyz(port)).status).toBe(200);
    const first = join(h.confDir, '00-aaa.conflist');
    await fsp.writeFile(first, '{"cniVersion":"1.0.0","name":"aaa","plugins":[{"type":"ptp"}]}');
    // The master switches to it too (it is a candidate, and the first): the check may first see that write pending.
    const notReady = await eventually(() => readyz(port), (a) => a.status === 503 && a.body.includes('sorts before'), 20_000, '/readyz 503 naming it');
    expect(notReady.body).toContain(`${first} sorts before `);
    expect(notReady.body).toContain('and is a valid CNI config: the container runtime loads it instead of Multus');
    await eventually(async () => notes('ConfigOutranked'), (n) => n.length === 1, 20_000, 'the ConfigOutranked Event');
    expect(fake.api.events.find((e) => e.reason === 'ConfigOutranked')).toMatchObject({ type: 'Warning', note: expect.stringMatching(new RegExp(`^${first} sorts before .* and is a valid CNI config: the container runtime loads it instead of Multus, so pods get no secondary networks`)) });
    await fsp.rm(first);
    await eventually(() => readyz(port), (a) => a.status === 200, 20_000, '/readyz 200 again');
    await run.waitForLog(/no other config sorts before the Multus config any more/, 20_000);
    await stopDaemon(run);
  });
});
