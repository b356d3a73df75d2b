// The source kinds a cluster's sources can be. Another (an OCIRepository) is a construct
// implementing IFluxSource, a file here turning its fleet entry into it, and a line below.
import { Construct } from 'constructs';
import { GitSourceConfig } from '../../fleet/model';
import { IFluxSource } from '../flux-source';
import { gitSourceOf } from './git';

/** Adds the source a fleet entry describes below `scope`, in `namespace`. */
export function addSource(scope: Construct, source: GitSourceConfig, namespace: string): IFluxSource {
  return gitSourceOf(scope, source, namespace);
}
