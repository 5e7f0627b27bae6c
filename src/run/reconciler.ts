// The reconciler joins the pure core to the host: observe -> desired state
// -> write only the differences. One-shot install is one reconcile; the
// watch loop calls it again on every event and on a slow timer.
import * as fsp from '../base/file-calls.js';
import { dirname, join } from 'node:path';
import type { Desired, DesiredSettings, KubeconfigEnv, LastConfig, Observation } from '../core/desired.js';
import { desiredState, kubeconfigInput, kubeconfigPath } from '../core/desired.js';
import { describeFsError, messageOf } from '../base/errors.js';
import { modeOf, readTextIfExists, removeIfExists, writeFileAtomic } from '../host/files.js';
import { outrankingOf, tamperingOf } from '../host/conf-dir.js';
import { describeFight, describeTampering, type Tampering } from '../core/other-writer.js';
import { probeDaemon } from '../host/daemon-socket.js';
import { observeReadiness, readCandidates, readConfigText, readServiceAccount, type ServiceAccount } from '../host/read.js';
import { kubeconfigNeedsYamlLibrary, onlyTokenDiffers, type YamlStringify } from '../core/kubeconfig.js';
import type { Logger } from '../observe/log.js';
import { selectMaster } from '../core/master.js';
import { INVALIDATED_CONTENT } from '../core/multus-config.js';
import { NO_OBSERVER, type FileKind, type Observer } from '../observe/observer.js';
import type { Environment, Options } from '../core/options.js';

/** What the reconciler reads: what it observes, the dirs it creates, and what the desired state reads. */
type ReconcilerSettings = DesiredSettings & Pick<Options, 'serviceAccountDir' | 'readinessIndicatorFile' | 'multusConfFile' | 'multusCniConfDir' | 'daemonSocketDir' | 'dryRun'>;
type ReconcilerEnv = KubeconfigEnv & Pick<Environment, 'kubeCaFile'>;

/** Gives the token the kubeconfig carries, from the mounted service account just read. */
interface KubeconfigTokens {
  tokenFor(sa: ServiceAccount): string;
}

interface ReconcileResult {
  /** The plan, with the faults met while writing it added to its errors. */
  desired: Desired;
}

/** A file mode as people write it: 0600. */
const octal = (mode: number): string => `0${mode.toString(8)}`;

/** Restores of one file within this window count as a fight with another writer. */
const FIGHT_WINDOW_MS = 60_000;
const FIGHT_THRESHOLD = 3;

export class Reconciler {
  private last: LastConfig | undefined;
  /** Content this program last wrote (or found correct) per path. */
  private readonly ours = new Map<string, string>();
  private readonly restores = new Map<string, number[]>();
  private readonly loggedSkips = new Set<string>();
  /** Masters this process renamed: "<name>.old" path -> original path. */
  readonly renamed = new Map<string, string>();
  /** The master last reported in use, to report a switch once. */
  private masterInUse: string | undefined;
  /** The config last found sorting before the Multus config, to report a change once. */
  private outrankedBy: string | undefined;

  /** Where the kubeconfig's token comes from when it is not the mounted one (cluster/bound-token.ts). */
  private tokens: KubeconfigTokens | undefined;
  /** yaml's stringify, once a kubeconfig needed it; kept for the next reconciles. */
  private yamlStringify: YamlStringify | undefined;

  constructor(
    private readonly o: ReconcilerSettings,
    private readonly env: ReconcilerEnv,
    private readonly log: Logger,
    /** Hears about writes, restores, switches and reconciles (metrics, events, the taint). */
    private readonly observer: Observer = NO_OBSERVER,
  ) {}

  useTokens(tokens: KubeconfigTokens): void {
    this.tokens = tokens;
  }

  async observe(): Promise<Observation> {
    const o = this.o;
    let serviceAccount: Observation['serviceAccount'];
    try {
      serviceAccount = await readServiceAccount(o.serviceAccountDir, this.env.kubeCaFile, o.skipTlsVerify);
      this.log.addSecret(serviceAccount.token);
      if (this.tokens) serviceAccount = { ...serviceAccount, token: this.tokens.tokenFor(serviceAccount) };
    } catch (err) {
      serviceAccount = { error: messageOf(err) };
    }
    const yaml = await this.yamlFor(serviceAccount);
    const readiness = {
      ...(o.readinessIndicatorFile ? { readiness: await observeReadiness(o.readinessIndicatorFile) } : {}),
      // --dry-run shows the config a run would write once the daemon answers.
      ...(o.mode === 'thick' && !o.dryRun ? { daemon: await probeDaemon(o.daemonSocketDir) } : {}),
    };
    if (o.multusConfFile !== 'auto') {
      return { serviceAccount, ...yaml, ...readiness, nonAuto: { path: o.multusConfFile, ...(await readConfigText(o.multusConfFile)) } };
    }
    const pinned = o.multusMasterCniFileName;
    const candidates = await readCandidates(o.multusAutoconfigDir, { pinned, renamedMasters: o.renameConfFile });
    return { serviceAccount, ...yaml, ...readiness, selection: selectMaster(candidates, pinned) };
  }

  /**
   * yaml's stringify when the kubeconfig has a string the built-in writer
   * does not cover. A dynamic import: in the bundle a static one would run
   * yaml's module init at every start.
   */
  private async yamlFor(serviceAccount: Observation['serviceAccount']): Promise<{ yamlStringify?: YamlStringify }> {
    if (!this.yamlStringify) {
      const input = kubeconfigInput(serviceAccount, this.o, this.env);
      if ('error' in input || !kubeconfigNeedsYamlLibrary(input)) return {};
      this.yamlStringify = (await import('yaml')).stringify;
    }
    return { yamlStringify: this.yamlStringify };
  }

  /** What the node should hold now (nothing is written). */
  async plan(): Promise<{ desired: Desired; last: LastConfig | undefined }> {
    return desiredState(await this.observe(), this.o, this.env, this.last);
  }

  async reconcile(): Promise<ReconcileResult> {
    return this.apply(await this.plan());
  }

  /** Writes what a plan says (a plan from plan(), so a caller can look before it leaps). */
  async apply({ desired, last }: { desired: Desired; last: LastConfig | undefined }): Promise<ReconcileResult> {
    this.logSkips(desired);
    if (!desired.fatal) {
      desired.errors.push(...await this.ensureDirs());
      const inPlace = new Set<string>();
      for (const file of desired.files) {
        // The kubeconfig comes first: a Multus config is written only once the kubeconfig it names is in place.
        if (file.what === 'Multus config' && file.content !== INVALIDATED_CONTENT && desired.files.some((f) => f.what === 'kubeconfig' && !inPlace.has(f.path))) {
          desired.errors.push(`${file.path}: not written: the kubeconfig it names is not in place`);
          continue;
        }
        try {
          await this.writeFile(file.path, file.content, file.mode, file.what, desired.master);
          inPlace.add(file.path);
        } catch (err) {
          desired.errors.push(`${file.path}: cannot write the ${file.what}: ${describeFsError(err)}`);
        }
      }
      // Only once the new config is on disk: removing the twin or renaming the
      // master before that could leave the node with no Multus config at all.
      const configInPlace = desired.files.some((f) => f.what === 'Multus config' && inPlace.has(f.path));
      if (configInPlace) {
        for (const path of desired.remove) {
          // Forgotten as ours: when it is written again it is a new config, not a restore.
          this.ours.delete(path);
          try {
            if (await removeIfExists(path)) {
              this.log.info('removed the stale twin of the Multus config', { file: path });
            }
          } catch (err) {
            desired.errors.push(`${path}: cannot remove the stale twin of the Multus config: ${describeFsError(err)}`);
          }
        }
        if (desired.renameMaster) await this.renameMaster(desired.renameMaster);
      }
      this.last = last;
    }
    this.report(desired, await this.checkOutranked(desired));
    return { desired };
  }

  /** The config the runtime loads instead of the Multus config, if any; said when that changes. */
  private async checkOutranked(desired: Desired): Promise<string | undefined> {
    const config = desired.fatal ? undefined : desired.files.find((f) => f.what === 'Multus config' && f.content !== INVALIDATED_CONTENT);
    if (!config) return undefined;
    const by = await outrankingOf(config.path, desired.remove).catch(() => undefined);
    if (by !== this.outrankedBy) {
      if (by) this.log.warn('a valid CNI config sorts before the Multus config: the container runtime loads it instead of Multus, so pods get no secondary networks; remove it, or rename it to sort after the Multus config', { file: by, config: config.path });
      else this.log.info('no other config sorts before the Multus config any more: the runtime loads Multus', { file: config.path });
      this.observer.notify({ kind: 'outranked', path: config.path, by });
      this.outrankedBy = by;
    }
    return by;
  }

  private report(desired: Desired, outranked: string | undefined): void {
    const ok = desired.errors.length === 0;
    if (ok && desired.master !== undefined && desired.master !== this.masterInUse) {
      this.observer.notify({ kind: 'master', master: desired.master, previous: this.masterInUse });
      this.masterInUse = desired.master;
    }
    this.observer.notify({
      kind: 'reconciled',
      result: ok ? 'ok' : 'error',
      // Outranked, the runtime does not call Multus: not configured (the taint stays, no repair).
      configured: ok && !desired.waiting && outranked === undefined,
      ...(ok ? { master: desired.master } : { error: desired.errors.join('; ') }),
    });
  }

  /** Compares the disk with what would be written now; the reason when they differ. */
  async checkInSync(): Promise<{ ok: true } | { ok: false; reason: string }> {
    const { desired } = await this.plan();
    if (desired.errors.length > 0) return { ok: false, reason: desired.errors.join('; ') };
    if (desired.waiting) return { ok: false, reason: `waiting for ${desired.waiting}` };
    for (const file of desired.files) {
      if ((await readTextIfExists(file.path)) !== file.content) return { ok: false, reason: `${file.path} differs from the desired ${file.what}` };
      const mode = await modeOf(file.path);
      if (mode !== undefined && mode !== file.mode) return { ok: false, reason: `${file.path} has mode ${octal(mode)}, not the ${file.what}'s ${octal(file.mode)}` };
    }
    for (const path of desired.remove) {
      if ((await readTextIfExists(path)) !== undefined) return { ok: false, reason: `${path} should not exist` };
    }
    const config = desired.files.find((f) => f.what === 'Multus config' && f.content !== INVALIDATED_CONTENT);
    const by = config && await outrankingOf(config.path, desired.remove);
    if (config && by) return { ok: false, reason: `${by} sorts before ${config.path} and is a valid CNI config: the container runtime loads it instead of Multus` };
    return { ok: true };
  }

  /** Creates the directories written into; gives the faults, naming each dir. */
  private async ensureDirs(): Promise<string[]> {
    const faults: string[] = [];
    const kubeconfigDir = this.o.mode === 'thick' ? [] : [dirname(kubeconfigPath(this.o))];
    for (const dir of [this.o.cniConfDir, ...kubeconfigDir, this.o.multusCniConfDir]) {
      await fsp.mkdirRecursive(dir).catch((err: unknown) => faults.push(`${dir}: cannot create the directory: ${describeFsError(err)}`));
    }
    return faults;
  }

  private async writeFile(path: string, content: string, mode: number, what: string, master: string | undefined): Promise<void> {
    const wasOurs = this.ours.get(path);
    // The log says what the write's own look saw; a change right after it
    // wakes the loop again.
    const { written, before, modeWas } = await writeFileAtomic(path, content, mode);
    // Recorded only once on disk: a failed write must not count as written
    // (the twin would be removed, the master renamed, for a config not there).
    this.ours.set(path, content);
    const file: FileKind = what === 'kubeconfig' ? 'kubeconfig' : 'config';
    if (modeWas !== undefined) {
      const modes = { mode: octal(mode), was: octal(modeWas) };
      if (wasOurs === content) {
        // We had it right, so someone else changed the mode: a restore, like a change of content.
        const how: Tampering = { what: 'mode changed' };
        this.observer.notify({ kind: 'wrote', file, path, cause: 'restored', how, master });
        this.noteRestore(path, what, how, file, modes);
      } else {
        this.log.info(`set the mode of the ${what} (its content was already right, so it was not rewritten)`, { file: path, ...modes });
      }
      return;
    }
    if (!written) return;
    if (wasOurs === content) {
      // We had written exactly this, so someone else renamed, removed or overwrote it.
      const how = await tamperingOf(path, content, before);
      this.observer.notify({ kind: 'wrote', file, path, cause: 'restored', how, master });
      this.noteRestore(path, what, how, file);
    } else if (file === 'kubeconfig' && before !== undefined && onlyTokenDiffers(before, content)) {
      // Routine (a token rotated or renewed on schedule): counted in /metrics, not an Event.
      this.log.info(`updated the ${what}: a new token`, { file: path });
      this.observer.notify({ kind: 'wrote', file, path, cause: 'renewed', master });
    } else {
      this.log.info(before === undefined ? `wrote the ${what}` : `updated the ${what}`, { file: path, master });
      const cause = file === 'config' && content === INVALIDATED_CONTENT ? 'invalidated' : before === undefined ? 'created' : 'updated';
      this.observer.notify({ kind: 'wrote', file, path, cause, master });
    }
  }

  private noteRestore(path: string, what: string, how: Tampering, file: FileKind, fields: Record<string, string> = {}): void {
    const now = Date.now();
    const recent = (this.restores.get(path) ?? []).filter((t) => now - t < FIGHT_WINDOW_MS);
    recent.push(now);
    this.restores.set(path, recent);
    this.log.warn(`restored the ${what}: it was ${describeTampering(how)}`, { file: path, ...fields });
    if (recent.length >= FIGHT_THRESHOLD) {
      this.log.warn(describeFight(what, recent.length, FIGHT_WINDOW_MS / 1000, how), { file: path });
      this.observer.notify({ kind: 'fight', file, path, times: recent.length, windowSeconds: FIGHT_WINDOW_MS / 1000, how });
    }
  }

  private async renameMaster(rename: { from: string; to: string }): Promise<void> {
    try {
      await fsp.rename(rename.from, rename.to);
      this.renamed.set(rename.to, rename.from);
      this.log.info('renamed the master config (--rename-conf-file); it stays the master', { from: rename.from, to: rename.to });
    } catch (err) {
      this.log.error('cannot rename the master config', { file: rename.from, error: describeFsError(err) });
    }
  }

  private logSkips(desired: Desired): void {
    for (const s of desired.skipped) {
      const key = `${s.name}\0${s.reason}`;
      if (this.loggedSkips.has(key)) continue;
      this.loggedSkips.add(key);
      this.log.info('skipped a candidate master config', { file: join(this.o.multusAutoconfigDir, s.name), reason: s.reason });
    }
  }

  /** The Multus config this process last wrote or found in place, unless invalidated (for --repair-pods). */
  multusConfigPath(): string | undefined {
    const kubeconfig = kubeconfigPath(this.o);
    for (const [path, content] of this.ours) if (path !== kubeconfig && content !== INVALIDATED_CONTENT) return path;
    return undefined;
  }

  /** Paths this program writes or renamed, for cleanup on uninstall. */
  ownedFiles(): { written: string[]; renamed: Map<string, string> } {
    return { written: [...this.ours.keys()], renamed: this.renamed };
  }
}
