// Does a DaemonSet's pod template still select this node? Its nodeSelector
// and its required node affinity against the node's labels (and name), with
// the semantics of k8s.io/component-helpers/scheduling/corev1/nodeaffinity:
// terms are ORed, a term's requirements ANDed, an empty term matches
// nothing. A DaemonSet that exists but no longer selects the node is
// removing its pod for good: an uninstall, as Istio's installer decides
// (cni/pkg/nodeagent/server.go). Pure.

interface NodeInfo {
  name: string;
  labels: Record<string, string>;
}

type Selection = { selects: true } | { selects: false; why: string };

interface Requirement { key?: unknown; operator?: unknown; values?: unknown }

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === 'string');
}

/** One requirement against a value that may be absent (NotIn and DoesNotExist match an absent one). */
function matches(req: Requirement, value: string | undefined): boolean {
  const values = strings(req.values);
  switch (req.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0]!)) return false;
      return req.operator === 'Gt' ? BigInt(value) > BigInt(values[0]!) : BigInt(value) < BigInt(values[0]!);
    }
    default: return false; // an operator the API server would not have admitted
  }
}

function describe(req: Requirement): string {
  return `${String(req.key)} ${String(req.operator)}${strings(req.values).length ? ` (${strings(req.values).join(', ')})` : ''}`;
}

function termMatches(term: unknown, node: NodeInfo): boolean {
  const t = obj(term);
  const expressions = list(t?.matchExpressions) as Requirement[];
  const fields = list(t?.matchFields) as Requirement[];
  if (expressions.length === 0 && fields.length === 0) return false;
  return expressions.every((r) => typeof r.key === 'string' && matches(r, node.labels[r.key]))
    && fields.every((r) => r.key === 'metadata.name' && matches(r, node.name));
}

/** Whether a pod template's spec (DaemonSet spec.template.spec) lets its pod run on the node. */
export function selectsNode(podSpec: unknown, node: NodeInfo): Selection {
  const spec = obj(podSpec);
  const selector = obj(spec?.nodeSelector) ?? {};
  for (const [key, want] of Object.entries(selector)) {
    if (node.labels[key] !== want) {
      return { selects: false, why: `its nodeSelector ${key}=${String(want)} does not match the node's labels (${key}=${node.labels[key] ?? '<unset>'})` };
    }
  }
  const required = obj(obj(obj(spec?.affinity)?.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution);
  if (required) {
    const terms = list(required.nodeSelectorTerms);
    if (!terms.some((term) => termMatches(term, node))) {
      const first = list(obj(terms[0])?.matchExpressions)[0] as Requirement | undefined;
      const example = first ? `, e.g. ${describe(first)}` : '';
      return { selects: false, why: `none of its required node affinity terms matches the node's labels${example}` };
    }
  }
  return { selects: true };
}

/** The node's name and labels from a Node object as the API server returns it. */
export function nodeInfo(node: unknown, name: string): NodeInfo {
  const labels = obj(obj(obj(node)?.metadata)?.labels) ?? {};
  return { name, labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === 'string')) as Record<string, string> };
}
