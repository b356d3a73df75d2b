// The Git hosts the tooling speaks for. Another is a file beside github.ts implementing GitHost,
// its kind in GIT_HOST_KINDS (lib/fleet/model.ts) and its entry in HOSTS. No I/O.
import { hostKindOf } from '../fleet/git-hosts';
import { DEFAULT_BRANCH } from '../fleet/git';
import { GitHostKind, GitSourceConfig, ReceiverType } from '../fleet/model';
import { BITBUCKET } from './bitbucket';
import { GitHost, RefMatch } from './git-host';
import { FORGEJO, GITEA } from './gitea';
import { GITHUB } from './github';
import { GITLAB } from './gitlab';

export { DeliveryEvent, GitHost, RefMatch, SignedDelivery } from './git-host';
export { fullName, RepositoryRef } from './repository';

const HOSTS: Record<GitHostKind, GitHost> = { github: GITHUB, gitlab: GITLAB, gitea: GITEA, forgejo: FORGEJO, bitbucket: BITBUCKET };

export function gitHost(kind: GitHostKind): GitHost {
  return HOSTS[kind];
}

/** The host of a repository URL: as the fleet says (`host:`), or the public host it names; undefined when neither tells. */
export function gitHostOf(source: { readonly url: string; readonly host?: GitHostKind }): GitHost | undefined {
  const kind = hostKindOf(source);
  return kind === undefined ? undefined : HOSTS[kind];
}

/** The host whose deliveries a Receiver of `type` checks when its sources' hosts do not say (GitHub Enterprise for github). */
export function gitHostForType(type: `${ReceiverType}`): GitHost | undefined {
  return Object.values(HOSTS).find((host) => host.receiverType === type);
}

/** The events a Receiver of `type` takes: those given, else its host's push events; none listed means notification-controller takes all. */
export function receiverEventsOf(type: `${ReceiverType}`, events?: readonly string[]): readonly string[] {
  return events ?? gitHostForType(type)?.defaultEvents ?? [];
}

/** The host a source's pushes come from, for a Receiver of `type`: its own, else the type's. */
export function sourceHost(source: { readonly url: string; readonly host?: GitHostKind }, type: `${ReceiverType}`): GitHost | undefined {
  return gitHostOf(source) ?? gitHostForType(type);
}

/** Which pushes concern a Git source. */
export function refMatchOf(source: GitSourceConfig): RefMatch {
  if (source.commit !== undefined) return { kind: 'none' };
  if (source.semver !== undefined) return { kind: 'anyTag' };
  if (source.tag !== undefined) return { kind: 'tag', name: source.tag };
  return { kind: 'branch', name: source.branch ?? DEFAULT_BRANCH };
}

/** The ref a test push of the source sends: its branch, or its tag (the newest tag it could match, for semver: a made-up v0.0.0). */
export function testRefOf(source: GitSourceConfig): string {
  const match = refMatchOf(source);
  if (match.kind === 'branch') return `refs/heads/${match.name}`;
  if (match.kind === 'tag') return `refs/tags/${match.name}`;
  return match.kind === 'anyTag' ? 'refs/tags/v0.0.0' : 'refs/heads/main';
}

/** The known hosts, for messages. */
export function knownGitHosts(): string {
  return Object.values(HOSTS).map((host) => host.name).join(', ');
}
