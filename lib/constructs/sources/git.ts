import { Construct } from 'constructs';
import { parseGoDuration } from '../../fleet/durations';
import { gitRefChoice } from '../../fleet/git';
import { GitSourceConfig } from '../../fleet/model';
import { GitRef } from '../git-ref';
import { GitSource } from '../git-source';
import { secretFromName } from '../secret-reference';
import { constructIdOf } from '../prototype-names';

/** A Git source of the fleet file as a GitRepository. */
export function gitSourceOf(scope: Construct, source: GitSourceConfig, namespace: string): GitSource {
  return new GitSource(scope, constructIdOf(source.name), {
    name: source.name,
    namespace,
    url: source.url,
    ref: gitRef(source),
    interval: source.interval === undefined ? undefined : parseGoDuration(source.interval),
    timeout: source.timeout === undefined ? undefined : parseGoDuration(source.timeout),
    secret: source.secretName === undefined ? undefined : secretFromName(source.secretName, namespace),
    ignore: source.ignore,
  });
}

function gitRef(source: GitSourceConfig): GitRef {
  const choice = gitRefChoice(source);
  if ('problem' in choice) throw new Error(`GitSource ${source.name}: ${choice.problem}`);
  return GitRef.of(choice.kind, choice.value);
}
