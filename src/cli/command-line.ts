// The command line as commander reads it: the parser of record, and the
// pflag-style --help. main.ts loads this module only when options.ts'
// parseWellFormed leaves the command line to it (--help, usage errors,
// spellings the fast path does not vouch for), so commander stays off the
// DaemonSet's normal start.
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../base/errors.js';
import { FLAGS, runFrom, type FlagSpec, type GivenFlags, type ParseResult } from '../core/options.js';

/** What the program reads from its environment, for --help. */
const ENVIRONMENT: readonly [string, string][] = [
  ['KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT', 'the API server, written into the kubeconfig (required to write it)'],
  ['KUBERNETES_SERVICE_PROTOCOL', 'https (default) or http'],
  ['KUBE_CA_FILE', 'the CA file to use instead of <service-account-dir>/ca.crt'],
  ['KUBECONFIG_MODE', 'the kubeconfig\'s file mode (default 0600)'],
  ['POD_NAME, POD_NAMESPACE, POD_UID', 'this pod (downward API): the uninstall check of --cleanup-config-on-exit, --events'],
  ['NODE_NAME', 'this node (downward API spec.nodeName): the node-bound kubeconfig token (see --kubeconfig-token-expiration), whether the DaemonSet still selects this node (uninstall check), --node-ready-taint, --repair-pods'],
];

/** pflag's look: "--cni-bin-dir string", "--health-port int", a bare boolean. */
function helpTerm(spec: FlagSpec): string {
  const type = { string: ' string', bool: '', seconds: ' int', port: ' int' }[spec.kind];
  return `--${spec.flag}${type}`;
}

/** The help text with pflag's default suffix; every default is shown, false and "" too. */
function helpDescription(spec: FlagSpec): string {
  const shown = typeof spec.default === 'string' ? JSON.stringify(spec.default) : String(spec.default);
  const env = spec.env ? ` (uses ${spec.env.map((e) => `$${e}`).join(', ')})` : '';
  return `${spec.help}${env} (default ${shown})`;
}

function buildCommand(): Command {
  const program = new Command('multus-entrypoint')
    .description('Installs Multus on this node and keeps its CNI config and kubeconfig true.')
    .helpOption('-h, --help', 'print this help and exit')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .configureHelp({
      optionTerm: (option) => specOf(option)?.term ?? option.flags,
      optionDescription: (option) => specOf(option)?.description ?? option.description,
    });
  for (const spec of FLAGS) {
    // Every flag takes an optional value so that both "--flag value" and
    // "--flag=value" work, and booleans also accept a bare "--flag".
    const placeholder = spec.kind === 'bool' ? '[bool]' : '[value]';
    const option = new Option(`--${spec.flag} ${placeholder}`, spec.help);
    helpOf.set(option.long ?? '', { term: helpTerm(spec), description: helpDescription(spec) });
    program.addOption(option);
  }
  return program;
}

const helpOf = new Map<string, { term: string; description: string }>();
function specOf(option: Option): { term: string; description: string } | undefined {
  return helpOf.get(option.long ?? '');
}

/** The usage text and the environment the program reads. */
function helpText(): string {
  const width = Math.max(...ENVIRONMENT.map(([name]) => name.length));
  const env = ENVIRONMENT.map(([name, use]) => `  ${name.padEnd(width)}  ${use}`).join('\n');
  return `${buildCommand().helpInformation()}\nEnvironment:\n${env}\n`;
}

/** Parses argv (without node and script) and the environment. Throws UsageError. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParseResult {
  const program = buildCommand();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        return { kind: 'help', text: helpText() };
      }
      throw new UsageError(commanderMessage(err));
    }
    throw err;
  }
  // opts() is keyed by commander's camelCase attribute names.
  const opts = program.opts<GivenFlags>();
  const given: GivenFlags = {};
  for (const option of program.options) if (option.long) given[option.long.slice(2)] = opts[option.attributeName()];
  return runFrom(given, env);
}

function commanderMessage(err: CommanderError): string {
  // Commander's messages already name the flag ("error: unknown option '--x'").
  return err.message.replace(/^error: /, '');
}
