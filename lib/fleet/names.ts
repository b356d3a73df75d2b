// Kubernetes object names: most kinds (and all the Flux kinds) need an RFC 1123 subdomain;
// namespaces and Services need the stricter RFC 1123 label.
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `value` is not a valid RFC 1123 label (max 63), or undefined when it is. */
export function rfc1123LabelProblem(value: string): string | undefined {
  if (value.length > 63 || !RFC1123_LABEL.test(value)) {
    return `"${value}" is not a valid RFC 1123 label: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a valid RFC 1123 subdomain (max 253), or undefined when it is. */
export function rfc1123SubdomainProblem(value: string): string | undefined {
  if (value.length > 253 || !RFC1123_SUBDOMAIN.test(value)) {
    return `"${value}" is not a valid RFC 1123 name: use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Why `key` is not a Kubernetes annotation or label key: `[prefix/]name`, a DNS subdomain and a name of at most 63. */
export function annotationKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  if ((prefix !== undefined && rfc1123SubdomainProblem(prefix) !== undefined) || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `"${key}" is not an annotation key: write [a DNS prefix/]name, e.g. service.beta.kubernetes.io/aws-load-balancer-type`;
  }
  return undefined;
}

/** Throws, naming the construct and field, when `value` is not a valid object name. */
export function assertObjectName(owner: string, field: string, value: string, rule: 'label' | 'subdomain' = 'subdomain'): void {
  const problem = rule === 'label' ? rfc1123LabelProblem(value) : rfc1123SubdomainProblem(value);
  if (problem) {
    throw new Error(`${owner}: ${field} ${problem}`);
  }
}

/** Control characters, C1 controls and the Unicode line and paragraph separators. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
/** The same, but for text that may span lines (newlines and tabs allowed). */
const CONTROL_BUT_LINES = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/;

/** Why `text` cannot go into a manifest as it is: a control character (a NUL, a newline, a tab). */
export function controlCharacterProblem(text: string): string | undefined {
  return CONTROL.test(text) ? `${JSON.stringify(text)} contains a control character (a NUL, a newline, a tab): remove it` : undefined;
}

/** The same for text that may span lines (a .sourceignore): only newlines and tabs are allowed. */
export function controlCharacterInTextProblem(text: string): string | undefined {
  return CONTROL_BUT_LINES.test(text) ? `${JSON.stringify(text)} contains a control character other than a newline or a tab: remove it` : undefined;
}
