// Which Git host serves a repository, and which Receiver type checks its deliveries: the fleet
// parser checks Receivers with it, lib/hosts builds on it. Value rules, no I/O.
import { domainToASCII, domainToUnicode } from 'node:url';
import { DEFAULT_BRANCH } from './git';
import { ClusterConfig, GIT_HOST_KINDS, GitHostKind, GitSourceConfig, ReceiverConfig, ReceiverType } from './model';

/** The public hosts a URL names by itself; any other needs `host:` in the fleet file. */
const PUBLIC_HOSTS: Readonly<Record<string, GitHostKind>> = {
  'github.com': 'github', 'gitlab.com': 'gitlab', 'bitbucket.org': 'bitbucket', 'codeberg.org': 'forgejo', 'gitea.com': 'gitea',
};

/** The Receiver type notification-controller checks each host's deliveries with (Gitea and Forgejo sign as GitHub does). */
export const HOST_RECEIVER_TYPES: Readonly<Record<GitHostKind, ReceiverType>> = {
  github: ReceiverType.GITHUB, gitea: ReceiverType.GITHUB, forgejo: ReceiverType.GITHUB, gitlab: ReceiverType.GITLAB, bitbucket: ReceiverType.BITBUCKET,
};

/** Receiver types that check no host's own signature, so that any host can call them. */
const ANY_HOST_TYPES: readonly `${ReceiverType}`[] = [ReceiverType.GENERIC_HMAC, ReceiverType.GENERIC];

/** The name of each cluster's Receiver for the fleet repository (bootstrap's GitRepository is flux-system too). */
export const FLEET_REPOSITORY_RECEIVER = 'flux-system';

/** The host of a repository URL: as the fleet says (`host:`), or the public host it names; undefined when neither tells. */
export function hostKindOf(source: { readonly url: string; readonly host?: GitHostKind }): GitHostKind | undefined {
  if (source.host !== undefined) return source.host;
  try {
    return PUBLIC_HOSTS[new URL(source.url).hostname.toLowerCase()];
  } catch {
    return undefined;
  }
}

/**
 * Why a repository URL's host needs `host:` beside it: one written with non-ASCII letters, or in
 * punycode (xn--), can pass for another (gіthub.com with a Cyrillic і is xn--gthub-n4e.com). The
 * fleet naming its Git host is the opt-in for an internationalized host that is really the team's.
 */
export function lookAlikeHostProblem(url: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  const written = authority.replace(/^.*@/, '').replace(/:\d*$/, '');
  let hostname: string;
  try {
    hostname = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  // An ssh:// URL's host is kept as written, non-ASCII letters percent-encoded.
  const nonAscii = /[^\x00-\x7f]/.test(written) || hostname.includes('%');
  if (!nonAscii && !hostname.split('.').some((label) => label.startsWith('xn--'))) return undefined;
  const other = nonAscii ? domainToASCII(written) : domainToUnicode(hostname);
  return `the host "${written}"${other && other !== written ? ` (${other})` : ''} is written with non-ASCII letters or in punycode, so it can pass for another host: write the host in plain ASCII, or, if it is really yours, name its Git host with host: (${GIT_HOST_KINDS.join(', ')})`;
}

interface SourceOfReceiver {
  readonly name: string;
  readonly url: string;
  readonly host?: GitHostKind;
}

/**
 * The Receiver's type (as given, else its sources' hosts' one; undefined where no host is known:
 * github, as before hosts were told apart) and what is wrong with it: a type that does not check
 * a source's host, or sources on hosts that no one type checks.
 */
export function receiverTypeProblems(receiver: { readonly type?: `${ReceiverType}` }, sources: readonly SourceOfReceiver[]): { type?: `${ReceiverType}`; problems: { field: (string | number)[]; message: string }[] } {
  const hosted = sources.map((source) => ({ source, kind: hostKindOf(source) })).filter((entry): entry is { source: SourceOfReceiver; kind: GitHostKind } => entry.kind !== undefined);
  if (receiver.type !== undefined) {
    // Which hosts' CI tokens it takes is checked with its pins (lib/hosts/oidc.ts).
    if (receiver.type === ReceiverType.GENERIC_OIDC) return { type: receiver.type, problems: [] };
    if (ANY_HOST_TYPES.includes(receiver.type)) return { type: receiver.type, problems: [] };
    const misfit = hosted.find(({ kind }) => HOST_RECEIVER_TYPES[kind] !== receiver.type);
    return {
      type: receiver.type,
      problems: misfit === undefined ? [] : [{
        field: ['type'],
        message: `a ${receiver.type} Receiver cannot check deliveries from ${misfit.kind} (source ${misfit.source.name}, ${misfit.source.url}): use type ${HOST_RECEIVER_TYPES[misfit.kind]}${hosted.some(({ kind }) => HOST_RECEIVER_TYPES[kind] === receiver.type) ? ', in a Receiver of its own' : ''}`,
      }],
    };
  }
  const types = [...new Set(hosted.map(({ kind }) => HOST_RECEIVER_TYPES[kind]))];
  if (types.length > 1) {
    const byType = types.map((type) => `${type}: ${hosted.filter(({ kind }) => HOST_RECEIVER_TYPES[kind] === type).map(({ source }) => source.name).join(', ')}`).join('; ');
    return { problems: [{ field: ['sources'], message: `lists sources on hosts that different Receiver types check (${byType}): give each host a Receiver of its own` }] };
  }
  return { type: types[0], problems: [] };
}

/** The GitRepository `flux bootstrap` makes for the fleet repository, as a source of the cluster's fleet-repository Receiver. */
export function fleetRepositorySource(cluster: ClusterConfig): GitSourceConfig | undefined {
  const repository = cluster.fleetRepository;
  return repository && { name: FLEET_REPOSITORY_RECEIVER, url: repository.url, branch: repository.branch ?? DEFAULT_BRANCH, host: repository.host, apiUrl: repository.apiUrl };
}

/** Every Receiver of a cluster with its sources: the fleet file's, and the fleet repository's (named flux-system) where there is one. */
export function clusterReceivers(cluster: ClusterConfig): { receiver: ReceiverConfig; sources: GitSourceConfig[] }[] {
  const receivers = cluster.receivers.map((receiver) => ({
    receiver,
    sources: receiver.sources.map((name) => cluster.sources.find((source) => source.name === name)).filter((source): source is GitSourceConfig => source !== undefined),
  }));
  const source = fleetRepositorySource(cluster);
  if (source === undefined) return receivers;
  const kind = hostKindOf(source);
  const type = kind === undefined ? ReceiverType.GITHUB : HOST_RECEIVER_TYPES[kind];
  return [...receivers, { receiver: { name: FLEET_REPOSITORY_RECEIVER, type, sources: [FLEET_REPOSITORY_RECEIVER] }, sources: [source] }];
}
