// The real components the end-to-end suite runs, each built from the Go module proxy as a
// dependency of its own small module under test/e2e/go/<name>/ (their dependency graphs pin
// different versions of shared modules, so one module for all would build none of them as
// released). Versions live in those go.mod files only.
export interface Component {
  /** The binary's name, and its folder under test/e2e/go/. */
  readonly name: string;
  /** The module it comes from (its version is the one test/e2e/go/<name>/go.mod requires). */
  readonly module: string;
  /** The Go package `go build` builds (a main package). */
  readonly goPackage: string;
  /** -ldflags for a version, where the binary reports its own version only from them. */
  readonly ldflags?: (version: string) => string;
  /** Whether the suite installs the CRDs in the module's config/crd/bases (the controllers'). */
  readonly crds?: boolean;
}

export const ETCD: Component = { name: 'etcd', module: 'go.etcd.io/etcd/server/v3', goPackage: 'go.etcd.io/etcd/server/v3' };

export const KUBE_APISERVER: Component = {
  name: 'kube-apiserver',
  module: 'k8s.io/kubernetes',
  goPackage: 'k8s.io/kubernetes/cmd/kube-apiserver',
  // Without them /version reports a fallback and clients warn about skew.
  ldflags: (version) => {
    const [major, minor] = version.replace(/^v/, '').split('.');
    return [`gitVersion=${version}`, `gitMajor=${major}`, `gitMinor=${minor}`].map((value) => `-X k8s.io/component-base/version.${value}`).join(' ');
  },
};

// Flux 2.9.4 ships source-controller v1.9.4, but that release does not build from the module proxy:
// its dependency github.com/fluxcd/pkg/artifact v0.18.2 is answered "403 Forbidden: This module
// version is not available" (v1.9.5 and v1.9.6 need v0.18.3, refused alike). test/e2e/go pins v1.9.3,
// the newest release that builds; README says so.
export const SOURCE_CONTROLLER: Component = { name: 'source-controller', module: 'github.com/fluxcd/source-controller', goPackage: 'github.com/fluxcd/source-controller', crds: true };

export const KUSTOMIZE_CONTROLLER: Component = { name: 'kustomize-controller', module: 'github.com/fluxcd/kustomize-controller', goPackage: 'github.com/fluxcd/kustomize-controller', crds: true };

export const NOTIFICATION_CONTROLLER: Component = { name: 'notification-controller', module: 'github.com/fluxcd/notification-controller', goPackage: 'github.com/fluxcd/notification-controller', crds: true };

export const COMPONENTS: readonly Component[] = [ETCD, KUBE_APISERVER, SOURCE_CONTROLLER, KUSTOMIZE_CONTROLLER, NOTIFICATION_CONTROLLER];
