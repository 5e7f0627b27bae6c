// Which token the kubeconfig carries: a node-bound one (TokenRequest, bound
// to NODE_NAME, so it outlives this pod: docs/behaviour.md, "The token outlives the pod"),
// or the mounted service-account token, and then why, said once.
import type { ServiceEnv } from '../core/kubeconfig.js';
import type { Options, Environment } from '../core/options.js';
import type { Logger } from '../observe/log.js';
import type { BoundTokenSource } from '../cluster/bound-token.js';
import type { Reconciler } from './reconciler.js';
import type { Trigger } from '../host/watch.js';

/** How long the first config waits for a node-bound token before it carries the mounted one. */
export const FIRST_TOKEN_WAIT_MS = 5000;

/** Why the kubeconfig carries the mounted token, or undefined when a node-bound one is asked for. */
function boundTokenOff(o: Pick<Options, 'kubeconfigTokenExpirationSeconds'>, env: Pick<Environment, 'nodeName'>): string | undefined {
  if (o.kubeconfigTokenExpirationSeconds === 0) return '--kubeconfig-token-expiration=0';
  if (env.nodeName === '') return 'NODE_NAME is not set (set it from the downward API, spec.nodeName)';
  return undefined;
}

/**
 * Starts the node-bound token source (loaded only then), or says once why
 * the kubeconfig carries the mounted token. --dry-run asks for nothing: it
 * only says which source a run would use.
 */
type TokenSettings = Pick<Options, 'kubeconfigTokenExpirationSeconds' | 'dryRun' | 'serviceAccountDir' | 'skipTlsVerify'>;
type TokenEnv = ServiceEnv & Pick<Environment, 'nodeName' | 'kubeCaFile'>;

export async function startTokens(o: TokenSettings, env: TokenEnv, reconciler: Reconciler, trigger: Trigger, log: Logger): Promise<{ source?: BoundTokenSource; note: string }> {
  const off = boundTokenOff(o, env);
  if (off) {
    const note = `the kubeconfig carries the mounted service-account token (it stops working once this pod is gone): ${off}`;
    if (!o.dryRun) log.info(note);
    return { note: `${note.replace('carries', 'would carry')}` };
  }
  if (o.dryRun) {
    return { note: `the kubeconfig would carry a node-bound token, requested when run (TokenRequest bound to node ${env.nodeName}, ${o.kubeconfigTokenExpirationSeconds} s, renewed at 80%); shown below: the mounted token, masked` };
  }
  const { BoundTokenSource } = await import('../cluster/bound-token.js');
  const source = new BoundTokenSource({
    nodeName: env.nodeName,
    expirationSeconds: o.kubeconfigTokenExpirationSeconds,
    env,
    skipTlsVerify: o.skipTlsVerify,
  }, log, () => trigger.kick());
  reconciler.useTokens(source);
  if (env.kubernetesServiceHost && env.kubernetesServicePort) await source.begin(o.serviceAccountDir, env.kubeCaFile, o.skipTlsVerify);
  return { source, note: '' };
}
