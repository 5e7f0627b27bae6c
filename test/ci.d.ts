// Types of test/ci.js for the TypeScript suites (the fleet simulation).
export function underCi(env?: NodeJS.ProcessEnv): boolean;
export function skipFailsUnderCi(suite: string, what: string, env?: NodeJS.ProcessEnv): string | undefined;
