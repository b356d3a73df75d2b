// `npm run webhook -- <command>`: the Git host's side of the push flow, from the fleet file.
// One file per command under tools/webhook/; this file only parses arguments and prints. Each
// command's file is loaded when that command runs: `url` need not load Octokit or a Kubernetes client.
import { Command, InvalidArgumentError, Option } from 'commander';
import { CommandContext, ExitCode, pathsFromEnvironment, ProgramOutput, runProgram, runWhenMain } from './common';
import { GIT_HOST_KINDS, GitHostKind } from '../lib/fleet/model';
import { goDurationProblem, parseGoDuration } from '../lib/fleet/durations';
import { redact } from './redact';
import type { DeliveryEvent } from './webhook/ping';
import { DEFAULT_TIMEOUT_SECONDS, PING_TIMEOUT_MS, timeoutMilliseconds } from './webhook/bounded-fetch';

/** --wait's Go-style duration (90s, 2m, 1m30s) in milliseconds. */
function waitMilliseconds(value: string): number {
  const problem = goDurationProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return parseGoDuration(value).toMilliseconds();
}

/** --timeout of a command that talks to servers: the deadline of the whole run, every request and answer included. */
function timeoutOption(what = 'stop after this long, every request to a server included', defaultMs = DEFAULT_TIMEOUT_SECONDS * 1000): Option {
  return new Option('--timeout <seconds>', what).argParser((value) => timeoutMilliseconds(value)).default(defaultMs, String(defaultMs / 1000));
}

function print(json: boolean | undefined, data: unknown, text: string): void {
  // Masked as every message is: a report may quote a server's answer.
  console.log(redact(json ? JSON.stringify(data, null, 2) : text));
}

export function buildProgram(): Command {
  // One context for the program, made from the environment, handed to every command.
  const context = new CommandContext(pathsFromEnvironment());
  const program = new Command('webhook').description('the Git host webhook of each cluster\'s Receivers: URL, test delivery, setup, checks');

  program.command('url')
    .description('print the Payload URL to paste into GitHub (offline: no cluster is contacted)')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--receiver <name>', 'only this Receiver, its URL alone on the line (for $(...) in scripts)')
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { receiver?: string; json?: boolean }) => {
      const { payloadUrls } = await import('./webhook/url.js');
      const result = await payloadUrls(cluster, { context, receiver: flags.receiver });
      // The shape depends on what was asked, never on how many Receivers the fleet has: a second
      // Receiver added later does not change what a script reading one line gets.
      print(flags.json, result, result.receivers.map((receiver) => flags.receiver === undefined ? `${receiver.name}: ${receiver.url}` : receiver.url).join('\n'));
    });

  program.command('ping')
    .description('send a delivery shaped and signed as the source\'s Git host does, and say what the answer (and the Receiver\'s filters) mean')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--receiver <name>', 'only this Receiver')
    .addOption(new Option('--event <event>', 'the event to send (default: the host\'s own test delivery, ping on GitHub, a push elsewhere)').choices(['ping', 'push']))
    .option('--ref <ref>', 'the ref a push names, e.g. refs/heads/feature to see a push the filters skip (default: each source\'s own branch or tag, one push each); a push that reconciles none of the Receiver\'s sources fails')
    .option('--url <url>', 'send here instead (a tunnel, a port-forward); the path is added when it has none')
    .addOption(timeoutOption('how long to wait for an answer', PING_TIMEOUT_MS))
    .option('--ca-file <file>', 'trust the CA certificates of this PEM file instead of the system\'s (a private CA); certificates are always verified')
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { receiver?: string; event?: DeliveryEvent; ref?: string; url?: string; timeout: number; caFile?: string; json?: boolean }) => {
      const { ping } = await import('./webhook/ping.js');
      const outcomes = await ping(cluster, { context, receiver: flags.receiver, event: flags.event, ref: flags.ref, url: flags.url, timeoutMs: flags.timeout, caFile: flags.caFile });
      print(flags.json, outcomes, outcomes.map((outcome) => `${outcome.accepted ? 'ok' : 'FAILED'} ${outcome.receiver}${outcome.delivered ? ` (${outcome.delivered.ref} of ${outcome.delivered.repository})` : ''}: ${outcome.explanation}`).join('\n'));
      if (outcomes.some((outcome) => !outcome.accepted)) throw new ExitCode(1);
    });

  const hookCommand = (name: string, description: string, hosts?: GitHostKind[]) => program.command(name)
    .description(description)
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--receiver <name>', 'only this Receiver')
    .option('--dry-run', 'print the requests, secret masked, and change nothing')
    .addOption(new Option('--host <host>', 'only the repositories on this Git host').choices([...GIT_HOST_KINDS]))
    .option('--api-url <url>', 'the REST API root for these repositories (one host), e.g. https://ghe.example.com/api/v3; default: each source\'s apiUrl, else the host\'s public API', hosts === undefined ? undefined : context.env.GITHUB_API_URL)
    .option('--allow-http', 'allow a plain-http --api-url off loopback (the token and the secret then travel in clear)')
    .addOption(timeoutOption())
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { receiver?: string; dryRun?: boolean; host?: GitHostKind; apiUrl?: string; allowHttp?: boolean; timeout: number; json?: boolean }) => {
      const { syncHooks } = await import('./webhook/hook.js');
      const changes = await syncHooks(cluster, { context, receiver: flags.receiver, dryRun: flags.dryRun, hosts: flags.host ? [flags.host] : hosts, apiUrl: flags.apiUrl, allowHttp: flags.allowHttp, timeoutMs: flags.timeout });
      print(flags.json, changes, changes.map((change) => change.action === 'oidc' ? change.reason : change.action === 'skip'
        ? `skipped the ${change.host} webhook of ${change.repository}: ${change.reason}`
        : flags.dryRun
        ? `would ${change.action} the ${change.host} webhook of ${change.repository}${change.reason ? ` (${change.reason})` : ''}:\n${change.request!.method} ${change.api?.replace(/\/+$/, '') ?? ''}${change.request!.path}\n${JSON.stringify(change.request!.body, null, 2)}`
        : `${change.action === 'create' ? 'created' : 'updated'} ${change.host} webhook ${change.hookId} of ${change.repository} for Receiver ${change.receiver}${change.reason ? ` (${change.reason})` : ''}`).join('\n')
        || `no repository of ${cluster}'s Receivers is on ${flags.host ?? hosts?.join(', ') ?? 'a Git host that makes hooks'} (generic and generic-hmac Receivers get no hook)`);
      if (flags.dryRun && changes.some((change) => change.action !== 'oidc')) console.error('A dry run calls no Git host API and sends no token, so each hook is planned as a create: a real run updates a hook that already points at the Receiver instead of adding one.');
    });
  hookCommand('hook', 'create or update the repository webhook on each source\'s Git host (the API host\'s token: GITHUB_TOKEN for api.github.com, GITLAB_TOKEN, GITEA_TOKEN, BITBUCKET_TOKEN for their public hosts, FLUX_INFRA_TOKEN_<HOST> for any other)');
  hookCommand('github', 'the hooks on GitHub only (an alias of hook --host github; GITHUB_TOKEN for api.github.com, FLUX_INFRA_TOKEN_<HOST> for GitHub Enterprise)', ['github']);

  program.command('deliveries')
    .description('list GitHub\'s recent deliveries to each hook of the cluster, each answer explained; redeliver failed ones (GITHUB_TOKEN, or FLUX_INFRA_TOKEN_<HOST> for GitHub Enterprise)')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--receiver <name>', 'only this Receiver')
    .addOption(new Option('--limit <n>', 'deliveries per hook, newest first').argParser((value) => Number(value)).default(10))
    .option('--redeliver <id>', 'ask GitHub to send this delivery again')
    .option('--redeliver-failed', 'ask GitHub to send again every delivery whose latest attempt failed')
    .option('--api-url <url>', 'GitHub Enterprise REST API root', context.env.GITHUB_API_URL)
    .option('--allow-http', 'allow a plain-http --api-url off loopback')
    .addOption(timeoutOption())
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { receiver?: string; limit: number; redeliver?: string; redeliverFailed?: boolean; apiUrl?: string; allowHttp?: boolean; timeout: number; json?: boolean }) => {
      const { deliveries, latestAccepted, noDeliveries } = await import('./webhook/deliveries.js');
      const { timeout, ...rest } = flags;
      const results = await deliveries(cluster, { context, ...rest, timeoutMs: timeout });
      print(flags.json, results, results.length === 0 ? noDeliveries(cluster) : results.map((result) => [
        `${result.repository}${result.hookId ? ` hook ${result.hookId}` : ''} (Receiver ${result.receiver})${result.note ? `: ${result.note}` : result.deliveries.length === 0 ? ': no delivery yet' : ':'}`,
        ...result.deliveries.map((delivery) => `  ${delivery.deliveredAt}  #${delivery.id}  ${delivery.event}  ${delivery.statusCode || '-'}  ${delivery.duration.toFixed(2)}s  ${delivery.ok ? 'ok' : 'FAILED'}${delivery.redelivery ? ' (redelivery)' : ''}: ${delivery.explanation}`),
        ...result.redelivered.map((id) => `  asked GitHub to deliver #${id} again`),
      ].join('\n')).join('\n'));
      // The newest delivery decides: one that failed means the last push did not get through.
      if (!latestAccepted(results)) throw new ExitCode(1);
    });

  program.command('verify')
    .description('check in the cluster (your kubeconfig) that the last push was applied: Receivers at the local token\'s path, sources at the host\'s head, Kustomizations on it')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--kubeconfig <file>', 'the kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context (default: its current one)')
    .addOption(new Option('--wait <duration>', 'poll until everything matches, for at most this long (e.g. 2m, 90s)').argParser(waitMilliseconds))
    .option('--api-url <url>', 'GitHub Enterprise REST API root, for the head commits', context.env.GITHUB_API_URL)
    .option('--allow-http', 'allow a plain-http --api-url off loopback')
    .addOption(new Option('--heads <how>', 'how the head commits are read: api, GitHub\'s API for GitHub sources (other hosts skipped); git, git ls-remote for every source with your git configuration and credentials (no commit date)').choices(['api', 'git']).default('api'))
    .addOption(timeoutOption('stop after --wait plus this long, every request to the cluster and the Git hosts (and every git ls-remote) included'))
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { kubeconfig?: string; context?: string; wait?: number; apiUrl?: string; allowHttp?: boolean; heads: 'api' | 'git'; timeout: number; json?: boolean }) => {
      const { verify } = await import('./webhook/verify.js');
      const report = await verify(cluster, { context, kubeconfig: flags.kubeconfig, kubeContext: flags.context, waitMs: flags.wait, apiUrl: flags.apiUrl, allowHttp: flags.allowHttp, heads: flags.heads, timeoutMs: flags.timeout });
      print(flags.json, report, [
        ...report.findings.map((finding) => `${finding.ok ? 'ok' : 'FAILED'} ${finding.object}: ${finding.detail}`),
        ...report.applied.map(({ app, seconds }) => `${app}: the pushed commit was applied ${seconds.toFixed(0)}s after it was made`),
      ].join('\n'));
      if (report.findings.some((finding) => !finding.ok)) throw new ExitCode(1);
    });

  program.command('allowlist')
    .description('print GitHub\'s webhook source ranges (its /meta API), or write them into the fleet lists that can filter by them')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--write-fleet', 'write them into loadBalancer.sourceRanges and/or webhook.allowFrom (where the NetworkPolicy sees GitHub\'s address), comments kept')
    .option('--drop-oidc-calls', 'with --write-fleet on a cluster that also has generic-oidc Receivers: write GitHub\'s webhook ranges although they drop those Receivers\' CI calls')
    .option('--api-url <url>', 'GitHub Enterprise REST API root, e.g. https://ghe.example.com/api/v3', context.env.GITHUB_API_URL)
    .option('--allow-http', 'allow a plain-http --api-url off loopback')
    .addOption(timeoutOption())
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { writeFleet?: boolean; dropOidcCalls?: boolean; apiUrl?: string; allowHttp?: boolean; timeout: number; json?: boolean }) => {
      const { allowlist } = await import('./webhook/allowlist.js');
      const result = await allowlist(cluster, { context, writeFleet: flags.writeFleet, dropOidcCalls: flags.dropOidcCalls, apiUrl: flags.apiUrl, allowHttp: flags.allowHttp, timeoutMs: flags.timeout });
      for (const warning of result.warnings) console.error(redact(`warning: ${warning}`));
      const fields = result.fields.join(' and ');
      print(flags.json, result, flags.writeFleet
        ? (result.written ? `wrote GitHub's ${result.ranges.length} webhook ranges into ${fields} of ${context.paths.fleetFile}: run npm run synth and commit` : `${fields} already hold GitHub's ${result.ranges.length} webhook ranges: nothing to write`)
        : [`# GitHub's webhook ranges, for ${fields} (write them there with --write-fleet):`, ...result.ranges.map((range) => `- ${range}`)].join('\n'));
    });

  program.command('workflow')
    .description('print (or write) the CI job each app repository needs to call its generic-oidc Receiver after a push: a GitHub Actions workflow, a GitLab CI job (offline)')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--receiver <name>', 'only this Receiver')
    .option('--write <dir>', 'write each file to <dir>/<owner>/<name>/<its path in the repository> (GitLab: the full group path), a layout of its own: copy each file into its repository')
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { receiver?: string; write?: string; json?: boolean }) => {
      const { workflowFiles } = await import('./webhook/workflow.js');
      const result = await workflowFiles(cluster, { context, receiver: flags.receiver, write: flags.write });
      for (const warning of result.warnings) console.error(redact(`warning: ${warning}`));
      const include = (file: { include?: string; repository: string }) => file.include === undefined ? '' : `; include it from ${file.repository}'s .gitlab-ci.yml: include: [{ local: ${file.include.replace(/^- local: /, '')} }]`;
      print(flags.json, result, result.files.length === 0
        ? `cluster ${cluster} has no generic-oidc Receiver: no CI job to generate (its Receivers are called by their Git host's webhook: npm run webhook -- hook ${cluster})`
        : result.files.map((file) => file.written === undefined
          ? `# ${file.repository}: ${file.path}${include(file)}\n${file.content}`
          : `wrote ${file.written} (Receiver ${file.receiver}; commit it in ${file.repository} as ${file.path}${include(file)})`).join('\n'));
    });

  program.command('ids')
    .description('read the ids a generic-oidc Receiver pins (GitHub repository and owner ids, GitLab project and namespace ids) from each source\'s host API (its token variable where set: GITHUB_TOKEN for api.github.com, GITLAB_TOKEN, FLUX_INFRA_TOKEN_<HOST>)')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--write-fleet', 'write them into the sources\' repositoryId and ownerId, comments kept')
    .option('--replace-ids', 'with --write-fleet: replace ids the fleet already has that the host now answers differently (a repository deleted and recreated, or moved: check it first); without it that is refused')
    .option('--allow-http', 'allow a plain-http apiUrl off loopback')
    .addOption(timeoutOption())
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { writeFleet?: boolean; replaceIds?: boolean; allowHttp?: boolean; timeout: number; json?: boolean }) => {
      const { ids, idsReport } = await import('./webhook/ids.js');
      const result = await ids(cluster, { context, writeFleet: flags.writeFleet, replaceIds: flags.replaceIds, allowHttp: flags.allowHttp, timeoutMs: flags.timeout });
      print(flags.json, result, idsReport(result, context.paths.fleetFile, flags.writeFleet));
    });

  program.command('doctor')
    .description('report every problem visible before a push, offline, one line each; --online also asks the Git hosts that each source\'s repository exists and its branch, tag or semver range resolves')
    .argument('<cluster>', 'a cluster of the fleet file')
    .option('--online', 'also read each source\'s refs: through its host\'s API where its token variable is set (GITHUB_TOKEN for api.github.com, GITLAB_TOKEN, GITEA_TOKEN, BITBUCKET_TOKEN, FLUX_INFRA_TOKEN_<HOST>), else with git ls-remote and your git credentials')
    .addOption(timeoutOption('with --online: stop after this long, every request and git ls-remote included'))
    .option('--json', 'print JSON for scripts')
    .action(async (cluster: string, flags: { online?: boolean; timeout: number; json?: boolean }) => {
      const { doctor } = await import('./webhook/doctor.js');
      const report = await doctor(cluster, { context, online: flags.online, timeoutMs: flags.timeout });
      print(flags.json, report, [
        ...(report.problems.length === 0 ? [`${cluster}: no problem found`] : report.problems.map((problem) => `problem: ${problem}`)),
        ...report.notes.map((note) => `note: ${note}`),
      ].join('\n'));
      if (report.problems.length > 0) throw new ExitCode(1);
    });
  return program;
}

/** Runs the command line; returns the exit code: 0 ok, 1 failed, 2 bad usage. */
export function run(argv: string[], output?: ProgramOutput): Promise<number> {
  return runProgram(buildProgram(), argv, output);
}

runWhenMain(module, buildProgram);
