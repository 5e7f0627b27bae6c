// Choosing the master CNI config: the one the container runtime would load
// if Multus were not there. Pure: a directory listing with contents in, the
// master (or why there is none) out.
import { isCniVersion } from './cni-version.js';
import type { JsonObject } from '../base/json.js';
import { isJsonObject } from '../base/json.js';

/** Output of this program; never a master (it would delegate to itself). */
const OWN_OUTPUT_PREFIX = '00-multus.';
const CONFIG_EXTENSIONS = ['.conf', '.conflist', '.json'];
const SELF_TYPES = new Set(['multus', 'multus-shim']);
export const RENAMED_SUFFIX = '.old';

/** A file of the autoconfig dir the runtime could load, as named for ranking. */
export interface CandidateName {
  /** The name it ranks by (for a renamed master: without ".old"). */
  name: string;
  /** The name on disk (name, or name + ".old"). */
  diskName: string;
}

/** What reading one candidate gave: its text, or why it could not be read. */
export type CandidateContent =
  | { name: string; diskName: string; text: string }
  | { name: string; diskName: string; unreadable: string };

interface MasterConfig {
  name: string;
  diskName: string;
  /** The config as parsed, delegates[0] of the Multus config. */
  config: JsonObject;
  /** The raw text, to tell a content change from an unchanged file. */
  text: string;
}

export interface Skipped {
  name: string;
  reason: string;
}

export type Selection =
  | { kind: 'found'; master: MasterConfig; skipped: Skipped[] }
  | { kind: 'none'; skipped: Skipped[] }
  /** A pinned master that exists but is not usable: fatal at start. */
  | { kind: 'pinned-invalid'; name: string; reason: string; skipped: Skipped[] };

function hasConfigExtension(name: string): boolean {
  return CONFIG_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/**
 * The files to read from a listing of the autoconfig dir, in the order the
 * runtime ranks them (byte order of names). With renamedMasters, a
 * "<name>.old" whose "<name>" is absent stands for "<name>".
 */
export function candidateNames(listing: readonly string[], opts: { pinned: string; renamedMasters: boolean }): CandidateName[] {
  const present = new Set(listing);
  const out: CandidateName[] = [];
  for (const diskName of listing) {
    if (opts.renamedMasters && diskName.endsWith(RENAMED_SUFFIX)) {
      const name = diskName.slice(0, -RENAMED_SUFFIX.length);
      if (!present.has(name) && (opts.pinned ? name === opts.pinned : hasConfigExtension(name))) {
        out.push({ name, diskName });
      }
      continue;
    }
    if (opts.pinned ? diskName === opts.pinned : hasConfigExtension(diskName)) {
      out.push({ name: diskName, diskName });
    }
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** Why a file cannot be the master, from its name alone; undefined if it can. */
function nameSkipReason(name: string): string | undefined {
  if (name.startsWith(OWN_OUTPUT_PREFIX)) return 'it is the Multus config this program writes';
  if (name.startsWith('.')) return 'hidden file (a temporary file of another installer)';
  return undefined;
}

function capabilitiesReason(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) return `${where}"capabilities" is not an object`;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'boolean') return `${where}capability "${key}" is not true or false`;
  }
  return undefined;
}

/** No real config nests deeper; far deeper ones overflow the stack when rendered. */
const MAX_DEPTH = 100;

/** True when arrays and objects nest deeper than max (measured without recursion). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Why a parsed config cannot be the master; undefined if it can. */
function configSkipReason(name: string, config: unknown): string | undefined {
  if (!isJsonObject(config)) return 'not a JSON object';
  if (nestsDeeperThan(config, MAX_DEPTH)) return `nested deeper than ${MAX_DEPTH} levels`;
  if (typeof config.cniVersion !== 'string') {
    return config.cniVersion === undefined ? 'no "cniVersion"' : '"cniVersion" is not a string';
  }
  if (!isCniVersion(config.cniVersion)) return `"cniVersion" "${config.cniVersion}" is not a version like 0.4.0 or 1.0.0`;
  const top = capabilitiesReason(config.capabilities, '');
  if (top) return top;
  if (name.endsWith('.conflist')) {
    const plugins = config.plugins;
    if (!Array.isArray(plugins) || plugins.length === 0) return '"plugins" is not a non-empty list';
    for (const [i, plugin] of plugins.entries()) {
      if (!isJsonObject(plugin) || typeof plugin.type !== 'string') return `plugin ${i} has no string "type"`;
      const caps = capabilitiesReason(plugin.capabilities, `plugin ${i}: `);
      if (caps) return caps;
      if (SELF_TYPES.has(plugin.type)) return `plugin ${i} is of type "${plugin.type}" (Multus would delegate to itself)`;
    }
    return undefined;
  }
  // .conf and .json hold a single plugin's config, as containerd and CRI-O read them.
  if (typeof config.type !== 'string') return 'no string "type" (a plugin list must be named .conflist)';
  if (SELF_TYPES.has(config.type)) return `it is of type "${config.type}" (Multus would delegate to itself)`;
  return undefined;
}

/** Checks one candidate's content; gives the master or the reason to skip. */
export function checkCandidate(content: CandidateContent): { master: MasterConfig } | { reason: string } {
  const byName = nameSkipReason(content.name);
  if (byName) return { reason: byName };
  if ('unreadable' in content) return { reason: content.unreadable };
  if (content.text.trim() === '') return { reason: 'empty file' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.text);
  } catch (err) {
    return { reason: `not valid JSON (${err instanceof Error ? err.message.slice(0, 120) : 'parse error'})` };
  }
  const reason = configSkipReason(content.name, parsed);
  if (reason) return { reason };
  return { master: { name: content.name, diskName: content.diskName, config: parsed as JsonObject, text: content.text } };
}

/**
 * The first usable candidate, as the runtime would rank them. With a pinned
 * name only that file counts, and a reason to skip it is fatal.
 */
export function selectMaster(contents: readonly CandidateContent[], pinned: string): Selection {
  const skipped: Skipped[] = [];
  for (const content of contents) {
    const verdict = checkCandidate(content);
    if ('master' in verdict) return { kind: 'found', master: verdict.master, skipped };
    if (pinned) return { kind: 'pinned-invalid', name: content.diskName, reason: verdict.reason, skipped };
    skipped.push({ name: content.diskName, reason: verdict.reason });
  }
  return { kind: 'none', skipped };
}
