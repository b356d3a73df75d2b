// The caller side of a generic-oidc Receiver: the CI job, in each app repository, that asks Flux to
// reconcile after a push. A GitHub Actions workflow for GitHub sources, a GitLab CI job for GitLab
// ones; both mint the platform's OIDC ID token for the Receiver's audience and POST it to the
// Receiver's URL. Pure: `webhook workflow` (tools/webhook/workflow.ts) prints or writes the files.
import { Document } from 'yaml';
import type { OidcReceiverModel, OidcSourceModel } from '../../lib/hosts/oidc';

/** One source of the Receiver, as its CI job needs it (lib/hosts/oidc.ts's model). */
export type CallerSource = Pick<OidcSourceModel, 'source' | 'host' | 'repository' | 'ref'>;
type PushedRef = CallerSource['ref'];

/** A generic-oidc Receiver of a cluster, as its callers need it, and the URL they POST to (the one `webhook url` prints). */
export interface CallerReceiver extends Pick<OidcReceiverModel, 'cluster' | 'name' | 'namespace' | 'audience'> {
  readonly url: string;
  readonly sources: readonly CallerSource[];
}

/** One file for one app repository. */
export interface CallerFile {
  readonly receiver: string;
  readonly host: 'github' | 'gitlab';
  readonly repository: string;
  /** The file's path inside that repository. */
  readonly path: string;
  readonly content: string;
  /** GitLab: the entry to add to the repository's .gitlab-ci.yml `include:` list. */
  readonly include?: string;
  /** The fleet sources this job calls for. */
  readonly sources: string[];
}

const ATTEMPTS = 3;

/** The base name of both files: one per cluster and Receiver, so several clusters' jobs live side by side. */
export function callerFileName(cluster: string, receiver: string): string {
  return `flux-${cluster}-${receiver}`;
}

/** The answer's body, at most 64 KiB of it on disk (a larger one is not kept: curl says so). */
const ANSWER_FILE_BYTES = 64 * 1024;

/**
 * The POST to the Receiver, POSIX sh (GitLab runners may have no bash): the ID token in
 * $FLUX_ID_TOKEN goes to curl on stdin (`--header @-`), never in its arguments or the log. No
 * redirect is followed (the token would go where it points). 5xx and no answer are tried again,
 * three times at most; anything but notification-controller's 200 fails the job, saying what the
 * code means and where on the cluster the reason is (a refused token is a bare 400). A body (a
 * proxy's, or a later controller's message; today's controller sends none) is printed first: its
 * first KiB on one line, printable ASCII only (no terminal escape, no line a CI platform would take
 * as a command), the ID token cut out should a proxy echo the request (awk gets it in its
 * environment, GitHub's step having it in a shell variable only, never in its arguments).
 */
function postScript(error: (title: string) => string): string {
  return `answer_file=$(mktemp)
trap 'rm -f "$answer_file"' EXIT
attempt=1
while :; do
  status=$(printf 'Authorization: Bearer %s\\n' "$FLUX_ID_TOKEN" | curl --silent --show-error --output "$answer_file" --max-filesize ${ANSWER_FILE_BYTES} --write-out '%{http_code}' --connect-timeout 10 --max-time 30 --request POST --header @- "$FLUX_RECEIVER_URL") || true
  case "$status" in
    200) echo "Receiver $FLUX_RECEIVER of cluster $FLUX_CLUSTER took the push (HTTP 200): Flux reconciles its sources now"; exit 0 ;;
    5[0-9][0-9]|000|'')
      if [ "$attempt" -lt ${ATTEMPTS} ]; then
        echo "HTTP \${status:-000} from the Receiver (attempt $attempt of ${ATTEMPTS}): trying again in $((attempt * 2))s"
        sleep $((attempt * 2))
        attempt=$((attempt + 1))
        continue
      fi ;;
  esac
  break
done
case "$status" in
  400) reason="notification-controller refused the ID token: its issuer, its audience ($FLUX_AUDIENCE) or one of the Receiver's validations (repository, ref, event) does not match; it answers every refusal with a bare 400, the reason is in its log" ;;
  404) reason="no Receiver at this path: Receiver $FLUX_RECEIVER is not in the cluster yet (synth committed and reconciled?), or a proxy rewrites the path" ;;
  503) reason="Receiver $FLUX_RECEIVER is not Ready, or suspended" ;;
  500) reason="the Receiver could not ask a source to reconcile (one it names is missing?)" ;;
  000|'') status=000; reason="no answer: nothing listening, a name that does not resolve, a firewall, or a timeout (curl's line above says which)" ;;
  30[0-9]) reason="a redirect, which this job does not follow (the token would go where it points): the Receiver URL must be where it points" ;;
  *) reason="not an answer of the Receiver (202 is notification-controller's events server: the URL must reach the webhook-receiver Service)" ;;
esac
if [ -s "$answer_file" ]; then
  answer=$(dd if="$answer_file" bs=1024 count=1 2>/dev/null | tr -d '\\000' | LC_ALL=C FLUX_ID_TOKEN="$FLUX_ID_TOKEN" awk 'BEGIN { token = ENVIRON["FLUX_ID_TOKEN"] }
    { rest = $0; line = ""; while (token != "" && (at = index(rest, token)) > 0) { line = line substr(rest, 1, at - 1) "[the ID token]"; rest = substr(rest, at + length(token)) } text = text " " line rest }
    END { gsub(/[^ -~]/, " ", text); gsub(/  +/, " ", text); sub(/^ /, "", text); sub(/ $/, "", text); print text }')
  if [ -n "$answer" ]; then echo "The Receiver's URL answered with: $answer"; fi
fi
echo "${error('Flux did not take the push')}HTTP $status from $FLUX_RECEIVER_URL: $reason. On the cluster: kubectl -n $FLUX_NAMESPACE logs deploy/notification-controller | grep $FLUX_RECEIVER; flux events -n $FLUX_NAMESPACE --for Receiver/$FLUX_RECEIVER"
exit 1
`;
}

/** Why a value cannot go into a generated file as it is, or undefined. */
function valueProblem(what: string, value: string): string | undefined {
  // GitHub evaluates ${{ }} and GitLab expands $VARIABLES in these fields; a control character breaks the line.
  // Quoted as JSON: the message stays one line whatever the value holds.
  if (/[\x00-\x1f\x7f]/.test(value)) return `${what} ${JSON.stringify(value)} holds a control character`;
  if (value.includes('$')) return `${what} ${JSON.stringify(value)} holds a "$", which the CI platform would expand`;
  return undefined;
}

/** A branch or tag as a GitHub filter pattern: its special characters escaped. */
function githubPattern(name: string): string {
  return name.replace(/[*?+[\]!\\]/g, '\\$&');
}

/** A GitLab CI expression string literal (GitLab has no escape in them: a name with both quotes cannot be written). */
function gitlabString(name: string): string {
  if (!name.includes('"')) return `"${name}"`;
  if (!name.includes("'")) return `'${name}'`;
  throw new Error(`the ref "${name}" holds both quote characters, which a GitLab rules:if cannot compare`);
}

function refWords(refs: readonly PushedRef[]): string {
  return refs.map((ref) => ref.kind === 'branch' ? `branch ${ref.name}` : ref.kind === 'tag' ? `tag ${ref.name}` : 'any tag (semver)').join(', ');
}

function header(receiver: CallerReceiver, group: Group, lines: string[]): string {
  return [
    ` Generated by flux-infra (npm run webhook -- workflow ${receiver.cluster}): regenerate it rather than edit it.`,
    ` After a push of ${refWords(group.refs)} of ${group.repository}, asks Flux on cluster ${receiver.cluster}`,
    ` to reconcile at once: the job mints this CI platform's OIDC ID token for audience ${receiver.audience}`,
    ` and POSTs it to Receiver ${receiver.namespace}/${receiver.name}, which accepts only a token for this`,
    ` repository, ref and push (its validations). No secret is stored anywhere.`,
    ...lines.map((line) => ` ${line}`),
  ].join('\n');
}

/** The environment both jobs give their script: every value from the fleet, none written into the script. */
function environment(receiver: CallerReceiver): Record<string, string> {
  return {
    FLUX_RECEIVER_URL: receiver.url,
    FLUX_AUDIENCE: receiver.audience,
    FLUX_CLUSTER: receiver.cluster,
    FLUX_NAMESPACE: receiver.namespace,
    FLUX_RECEIVER: receiver.name,
  };
}

interface Group {
  readonly host: 'github' | 'gitlab';
  readonly repository: string;
  readonly refs: PushedRef[];
  readonly sources: string[];
}

/** The Receiver's sources by repository (GitHub's names are case-insensitive): one job each, for all of its refs. */
function groups(receiver: CallerReceiver): Group[] {
  const byKey = new Map<string, Group>();
  for (const source of receiver.sources) {
    const key = `${source.host}:${source.host === 'github' ? source.repository.toLowerCase() : source.repository}`;
    const group = byKey.get(key) ?? { host: source.host, repository: source.repository, refs: [], sources: [] };
    byKey.set(key, group);
    group.sources.push(source.source);
    if (!group.refs.some((ref) => ref.kind === source.ref.kind && (ref.kind === 'anyTag' || (source.ref.kind !== 'anyTag' && ref.name === source.ref.name)))) group.refs.push(source.ref);
  }
  return [...byKey.values()];
}

function githubWorkflow(receiver: CallerReceiver, group: Group): string {
  const branches = group.refs.flatMap((ref) => ref.kind === 'branch' ? [githubPattern(ref.name)] : []);
  const tags = group.refs.some((ref) => ref.kind === 'anyTag') ? ['**'] : group.refs.flatMap((ref) => ref.kind === 'tag' ? [githubPattern(ref.name)] : []);
  const name = callerFileName(receiver.cluster, receiver.name);
  const document = new Document({
    name: `flux ${receiver.cluster}/${receiver.name}`,
    on: { push: { ...(branches.length > 0 ? { branches } : {}), ...(tags.length > 0 ? { tags } : {}) } },
    // A newer push of the same ref makes a running call pointless: Flux fetches the head either way.
    concurrency: { group: `${name}-\${{ github.ref }}`, 'cancel-in-progress': true },
    jobs: {
      'notify-flux': {
        'runs-on': 'ubuntu-latest',
        'timeout-minutes': 5,
        // id-token: write lets the job mint an ID token; it reads nothing else and writes nothing.
        permissions: { 'id-token': 'write', contents: 'read' },
        env: environment(receiver),
        steps: [{
          name: `Ask Flux on ${receiver.cluster} to reconcile ${group.sources.join(', ')}`,
          shell: 'bash',
          run: `set -euo pipefail
if [ -z "\${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "\${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
  echo "::error title=No ID token::this job needs permissions id-token: write (GitHub gives none to a pull request from a fork)"
  exit 1
fi
echo "Push of $GITHUB_REF to $GITHUB_REPOSITORY ($GITHUB_EVENT_NAME): calling Receiver $FLUX_RECEIVER of cluster $FLUX_CLUSTER"
# As actions/core's getIDToken asks for it: the request URL plus &audience=<the audience, URL-encoded>,
# its request token as the bearer (on curl's stdin, not in its arguments); the answer is {"value": <token>}.
audience_query=$(jq -rn --arg audience "$FLUX_AUDIENCE" '$audience | @uri')
if ! FLUX_ID_TOKEN=$(printf 'Authorization: Bearer %s\\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" | curl --silent --show-error --fail --max-time 30 --retry 3 --header @- "\${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=\${audience_query}" | jq -er '.value'); then
  echo "::error title=No ID token::GitHub did not issue an ID token for audience $FLUX_AUDIENCE"
  exit 1
fi
${postScript((title) => `::error title=${title}::`)}`,
        }],
      },
    },
  });
  document.commentBefore = header(receiver, group, [
    'No third-party action: the token is asked for with curl, as actions/core does, so nothing but',
    'GitHub and this file ever holds it. Put it in .github/workflows/ of that repository.',
  ]);
  return document.toString({ lineWidth: 0 });
}

function gitlabJob(receiver: CallerReceiver, group: Group): string {
  const pushed = '$CI_PIPELINE_SOURCE == "push"';
  const rules = group.refs.map((ref) => ({
    if: ref.kind === 'branch' ? `${pushed} && $CI_COMMIT_BRANCH == ${gitlabString(ref.name)}`
      : ref.kind === 'tag' ? `${pushed} && $CI_COMMIT_TAG == ${gitlabString(ref.name)}`
      : `${pushed} && $CI_COMMIT_TAG`,
  }));
  const document = new Document({
    [callerFileName(receiver.cluster, receiver.name)]: {
      // needs: [] starts it at once, whatever else the pipeline runs; it is in GitLab's default
      // stage, test: a pipeline whose stages: list has none needs a stage: line here.
      needs: [],
      rules,
      id_tokens: { FLUX_ID_TOKEN: { aud: receiver.audience } },
      variables: environment(receiver),
      interruptible: true,
      timeout: '5 minutes',
      script: [`command -v curl >/dev/null 2>&1 || { echo "ERROR: this job needs curl in the runner's image"; exit 1; }
echo "Push of $CI_COMMIT_REF_NAME to $CI_PROJECT_PATH ($CI_PIPELINE_SOURCE): calling Receiver $FLUX_RECEIVER of cluster $FLUX_CLUSTER"
${postScript(() => 'ERROR: ')}`],
    },
  });
  document.commentBefore = header(receiver, group, [
    'No image: the runner\'s default runs it (it needs curl and a POSIX sh). A mutable tag such as',
    ':latest could change under a job that holds a token for your cluster: if you set an image,',
    'pin it by digest (name@sha256:...). Include this file from the repository\'s .gitlab-ci.yml.',
  ]);
  return document.toString({ lineWidth: 0 });
}

/**
 * The CI files of a generic-oidc Receiver: one per app repository it hears from. Throws one line
 * when a value cannot be written into them as it is.
 */
export function callerFiles(receiver: CallerReceiver): CallerFile[] {
  for (const [what, value] of [['the Receiver URL', receiver.url], ['the audience', receiver.audience]] as const) {
    const problem = valueProblem(what, value);
    if (problem) throw new Error(`Receiver ${receiver.name} of cluster ${receiver.cluster}: ${problem}`);
  }
  // A GitLab rules:if expands $VARIABLES even inside its string literals; GitHub's on.push takes no expression.
  for (const source of receiver.sources) {
    if (source.host !== 'gitlab' || source.ref.kind === 'anyTag') continue;
    const problem = valueProblem(`source ${source.source}'s ${source.ref.kind}`, source.ref.name);
    if (problem) throw new Error(`Receiver ${receiver.name} of cluster ${receiver.cluster}: ${problem}`);
  }
  const name = callerFileName(receiver.cluster, receiver.name);
  return groups(receiver).map((group): CallerFile => {
    const common = { receiver: receiver.name, host: group.host, repository: group.repository, sources: group.sources };
    if (group.host === 'github') return { ...common, path: `.github/workflows/${name}.yml`, content: githubWorkflow(receiver, group) };
    const path = `.gitlab/${name}.gitlab-ci.yml`;
    return { ...common, path, content: gitlabJob(receiver, group), include: `- local: ${path}` };
  });
}
