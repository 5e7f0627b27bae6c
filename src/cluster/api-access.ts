// How this pod reaches the API server: the in-cluster service env and the
// mounted service account, read afresh for each use (the token rotates).
import { readServiceAccount } from '../host/read.js';
import { apiAccess, type ApiAccess, type ServiceEnv } from '../core/kubeconfig.js';
import type { Logger } from '../observe/log.js';
import type { Environment, Options } from '../core/options.js';

export type AccessReader = () => Promise<ApiAccess>;

/** Where the service account is read, and whether its CA is used. */
export type AccessSettings = Pick<Options, 'serviceAccountDir' | 'skipTlsVerify'>;
export type AccessEnv = ServiceEnv & Pick<Environment, 'kubeCaFile'>;

export function apiAccessReader(o: AccessSettings, env: AccessEnv, log: Logger): AccessReader {
  return async () => {
    const sa = await readServiceAccount(o.serviceAccountDir, env.kubeCaFile, o.skipTlsVerify);
    log.addSecret(sa.token);
    return apiAccess(env, sa, o.skipTlsVerify);
  };
}
