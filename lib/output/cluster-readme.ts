// dist/clusters/<cluster>/README.md: the push chain of one cluster as a Mermaid diagram, and the
// setup checklist. It holds no secret and no webhook path (the path is derived from the token).
import { AppDeployment } from '../constructs/app-deployment';
import { FluxCluster } from '../constructs/flux-cluster';
import { toGoDuration } from '../fleet/durations';
import { clusterReceivers, fleetRepositorySource, hostKindOf } from '../fleet/git-hosts';
import { repositoryOf } from '../hosts/repository';
import { ClusterConfig, GitHostKind, ReceiverType, receiverTypeOf } from '../fleet/model';
import { needsWebhookToken, OIDC_CALLERS, OIDC_CALLERS_FIX, oidcReceivers, receiverKinds } from '../hosts/oidc';
import { GitHost, gitHostOf, sourceHost } from '../hosts';

import { WebhookReceiver } from '../constructs/webhook-receiver';
import { AGE_KEY_FILE, CLUSTER_FILES, clusterDir, DEFAULT_PATHS, GENERATED_MARKDOWN_HEADER, SOPS_AGE_SECRET } from '../layout';

/** Mermaid node text: quotes and angle brackets would end or break the label. */
function label(...lines: string[]): string {
  return `"${lines.map((line) => line.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')).join('<br/>')}"`;
}

function id(prefix: string, name: string): string {
  return `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}

function appLines(app: AppDeployment): string[] {
  return [`Kustomization ${app.name}`, app.path, `every ${toGoDuration(app.interval)}${app.prune ? ', prune' : ''}`];
}

/** The Git host of each repository URL the cluster's Receivers hear from (GitHub, GitLab...), and which of them get a hook. */
function hostsOf(cluster: FluxCluster): { byUrl: Map<string, GitHost>; hooked: GitHost[] } {
  const hosts = new Map<string, GitHost>();
  const hooked = new Set<GitHost>();
  for (const { receiver, sources } of clusterReceivers(cluster.config)) {
    const type = receiverTypeOf(receiver);
    for (const source of sources) {
      const host = sourceHost(source, type);
      if (host === undefined) continue;
      hosts.set(source.url, host);
      // A generic or generic-hmac Receiver checks no host's own signature: no hook is made for it.
      if (host.receiverType === type) hooked.add(host);
    }
  }
  for (const source of cluster.config.sources) {
    const host = gitHostOf(source);
    if (host !== undefined && !hosts.has(source.url)) hosts.set(source.url, host);
  }
  return { byUrl: hosts, hooked: [...hooked] };
}

/** `flux bootstrap`'s subcommand for the fleet repository's host; Bitbucket has none of its own for bitbucket.org, so plain git. */
const BOOTSTRAP_COMMANDS: Record<GitHostKind, string> = { github: 'github', gitlab: 'gitlab', gitea: 'gitea', forgejo: 'gitea', bitbucket: 'git' };

/** The public host each bootstrap subcommand assumes when it is given no --hostname. */
const BOOTSTRAP_DEFAULT_HOSTS: Record<string, string> = { github: 'github.com', gitlab: 'gitlab.com' };

/**
 * `flux bootstrap` for this cluster's path, on the fleet repository (`repository:`) where the fleet
 * names it: its host's subcommand, owner, name and branch; placeholders where it does not.
 */
export function bootstrapCommand(config: ClusterConfig): string {
  const path = `--path=${DEFAULT_PATHS.distDir}/${clusterDir(config.name)}`;
  const repository = fleetRepositorySource(config);
  if (repository === undefined) return `flux bootstrap github --owner=<owner> --repository=<the fleet repository> --branch=main ${path}`;
  const kind = hostKindOf(repository);
  const command = kind === undefined ? 'git' : BOOTSTRAP_COMMANDS[kind];
  if (command === 'git') return `flux bootstrap git --url=${repository.url} --branch=${repository.branch} ${path}`;
  const { host, owner, name } = repositoryOf(repository.url, kind === 'gitlab');
  const hostname = BOOTSTRAP_DEFAULT_HOSTS[command] === host ? '' : ` --hostname=${host}`;
  return `flux bootstrap ${command}${hostname} --owner=${owner} --repository=${name} --branch=${repository.branch} ${path}`;
}

/** The hook settings step: where, and in each host's words for the secret field and the events to pick. */
function hookStep(cluster: string, hosts: readonly GitHost[]): string {
  const fields = (host: GitHost) => `the token in the "${host.secretLabel}" field, and "${host.hookEvents}" for the events`;
  const settings = hosts.length <= 1
    ? (hosts.length === 0 ? 'the token as its secret, and push events' : fields(hosts[0]))
    : hosts.map((host) => `on ${host.name}, ${fields(host)}`).join('; ');
  const names = hosts.map((host) => host.name).join(', ') || 'the Git host';
  return `Add the webhook on ${names}: \`npm run webhook -- hook ${cluster}\`, or by hand with the Payload URL from \`npm run webhook -- url ${cluster}\`, content type \`application/json\`, ${settings}.`;
}

/** What calls a Receiver: its events, or for generic-oidc the CI job's push. */
function eventsOf(receiver: WebhookReceiver, none: string): string {
  if (receiver.type === ReceiverType.GENERIC_OIDC) return 'CI job on push (OIDC ID token)';
  return receiver.events.join(', ') || none;
}

/** The ping step, in each kind's words: a token-based Receiver takes a signed test delivery, a generic-oidc one can only be seen to answer. */
function pingStep(cluster: string, kinds: { oidc: string[]; others: string[] }): string {
  const command = `\`npm run webhook -- ping ${cluster}\``;
  const oidcWords = 'it cannot mint a CI token, so it reports "answers" when a Receiver is at the path and refuses a call without a token';
  if (kinds.oidc.length === 0) return `Send a signed test delivery: ${command}; it should report "accepted".`;
  if (kinds.others.length === 0) return `Check that the Receivers answer: ${command} (${oidcWords}); then push to a source's branch and watch its CI job.`;
  return `Send a signed test delivery: ${command}; it should report "accepted" for ${kinds.others.join(', ')}; for the generic-oidc Receivers (${kinds.oidc.join(', ')}) ${oidcWords}, then push to a source's branch and watch its CI job.`;
}

/** The README of one cluster's tree. */
export function clusterReadme(cluster: FluxCluster): string {
  const { config } = cluster;
  const namespace = cluster.namespace;
  const kinds = receiverKinds(config);
  const readme = cluster.exposure.readme({ cluster: config.name, namespace, hookCallers: kinds.others.length > 0 });
  const receivers = [...cluster.receivers.values()];
  const lines: string[] = ['flowchart LR'];
  // The cluster's sources, and those only a Receiver names (bootstrap's flux-system for the fleet repository).
  const sources = [...new Set([...cluster.sources.values(), ...receivers.flatMap((receiver) => receiver.sources)])];
  const repos = new Map<string, string>();
  for (const source of sources) {
    if (!repos.has(source.url)) repos.set(source.url, id('repo', String(repos.size)));
  }
  const { byUrl: hostByUrl, hooked: hosts } = hostsOf(cluster);
  for (const [url, node] of repos) lines.push(`  ${node}[${label(`${hostByUrl.get(url)?.name ?? 'Git'} repository`, url)}]`);
  // From the Git host's side to the Service: the first node takes the push, the last is `svc`.
  const chain = readme.nodes.map((_node, index) => (index === readme.nodes.length - 1 ? 'svc' : `exposure${index}`));
  readme.nodes.forEach((node, index) => lines.push(`  ${chain[index]}[${label(...node)}]`));
  for (let index = 1; index < chain.length; index++) lines.push(`  ${chain[index - 1]} --> ${chain[index]}`);
  for (const receiver of receivers) {
    lines.push(`  ${id('rcv', receiver.name)}[${label(`Receiver ${receiver.name}`, `${receiver.type}: ${eventsOf(receiver, 'all events')}`)}]`);
  }
  for (const source of sources) lines.push(`  ${id('src', source.name)}[${label(...source.summary)}]`);
  for (const app of cluster.apps.values()) lines.push(`  ${id('app', app.name)}[${label(...appLines(app))}]`);
  const pushed = new Set<string>();
  for (const receiver of receivers) {
    for (const source of receiver.sources) {
      const repo = repos.get(source.url)!;
      if (!pushed.has(repo)) lines.push(`  ${repo} -->|${label(readme.pushEdge)}| ${chain[0]}`);
      pushed.add(repo);
    }
    lines.push(`  svc --> ${id('rcv', receiver.name)}`);
    for (const source of receiver.sources) lines.push(`  ${id('rcv', receiver.name)} -->|reconcile now| ${id('src', source.name)}`);
  }
  for (const [url, node] of repos) {
    for (const source of sources.filter((candidate) => candidate.url === url)) {
      lines.push(`  ${node} -.->|fetch| ${id('src', source.name)}`);
    }
  }
  for (const app of cluster.apps.values()) lines.push(`  ${id('src', app.source.name)} --> ${id('app', app.name)}`);
  for (const app of cluster.apps.values()) {
    // The arrow reads as the field does: this app dependsOn that one.
    for (const dependency of app.dependsOn) lines.push(`  ${id('app', app.name)} -.->|dependsOn| ${id('app', dependency.name)}`);
  }

  const oidc = oidcReceivers(config);
  const tokenless = !needsWebhookToken(config);
  const workflowStep = `Add the CI job that calls ${oidc.length === 1 ? `the Receiver ${oidc[0].name}` : `the Receivers ${oidc.map((receiver) => receiver.name).join(', ')}`} to each app repository: \`npm run webhook -- workflow ${config.name}\` prints it (\`--write <dir>\` writes it); its ID token must be requested with the audience ${oidc.map((receiver) => `\`${receiver.audience}\``).join(', ')}. The caller is that CI job: there is no token, Secret or hook for ${oidc.length === 1 ? 'it' : 'them'}.`;
  const secretStep = config.sops
    ? `The token Secret is committed encrypted (\`${CLUSTER_FILES.encryptedTokenSecret}\`). Give Flux the age key once: \`kubectl -n ${namespace} create secret generic ${SOPS_AGE_SECRET} --from-file=${AGE_KEY_FILE}=${DEFAULT_PATHS.secretsDir}/${config.name}/${AGE_KEY_FILE}\``
    : `Apply the token Secret (it is not in git): \`kubectl apply -f ${DEFAULT_PATHS.secretsDir}/${config.name}/${CLUSTER_FILES.tokenSecret}\``;
  return [
    GENERATED_MARKDOWN_HEADER,
    `# Cluster ${config.name}`,
    '',
    tokenless
      ? `A push to a repository below runs its CI job, which calls the Receiver ${readme.through} with an OIDC ID token; the Receiver asks its`
      : `A push to a repository below makes its Git host (${hosts.map((host) => host.name).join(', ') || 'Git'})${oidc.length > 0 ? ' or its CI job (generic-oidc Receivers)' : ''} call the Receiver ${readme.through}; the Receiver asks its`,
    'GitRepository to reconcile now, and every Kustomization on that source follows. Polling is the fallback.',
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
    '## Setup checklist',
    '',
    ...[
      ...(readme.prerequisite === undefined ? [] : [readme.prerequisite]),
      `Commit and push \`${DEFAULT_PATHS.distDir}/\`, then bootstrap Flux on this directory: \`${bootstrapCommand(config)}\`${fleetRepositorySource(config) === undefined ? ' (set the fleet\'s `repository:` and this line names it)' : ''}.`,
      ...(tokenless ? [] : [secretStep]),
      `Check the local setup: \`npm run webhook -- doctor ${config.name}\`.`,
      // CI runners call the generic-oidc Receivers: a list narrowed to webhook senders drops them.
      oidc.length === 0 ? readme.openStep : `${readme.openStep} For the generic-oidc Receivers (${kinds.oidc.join(', ')}): ${OIDC_CALLERS}; any list narrowing who may call (firewall, allowFrom, sourceRanges) must hold them: ${OIDC_CALLERS_FIX}.`,
      ...(tokenless ? [] : [hookStep(config.name, hosts)]),
      ...(oidc.length === 0 ? [] : [workflowStep]),
      pingStep(config.name, kinds),
      oidc.length > 0 && kinds.others.length === 0
        ? `After each push: the CI job's log shows the Receiver's answer to its call, and \`npm run webhook -- verify ${config.name} --wait 2m\` that the cluster applied the pushed commit.`
        : `After each push: \`npm run webhook -- deliveries ${config.name}\` shows what the Git host delivered (GitHub)${oidc.length > 0 ? ' (for the generic-oidc Receivers, the CI job\'s log shows each call\'s answer)' : ''}, and \`npm run webhook -- verify ${config.name} --wait 2m\` that the cluster applied the pushed commit.`,
    ].map((step, index) => `${index + 1}. ${step}`),
    '',
    '| Receiver | Reconciles | Events |',
    '| --- | --- | --- |',
    ...receivers.map((receiver: WebhookReceiver) => `| ${receiver.name} | ${receiver.resources.map((target) => `${target.kind} ${target.name}`).join(', ')} | ${eventsOf(receiver, 'all')} |`),
    '',
  ].join('\n');
}
