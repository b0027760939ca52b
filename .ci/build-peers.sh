#!/usr/bin/env bash
# Builds the Go test peers from the Go module proxy and caches them by version:
#   kube-apiserver, kube-controller-manager (k8s.io/kubernetes), etcd + etcdctl,
#   and Bitnami's kubeseal + controller (the interoperability peers) with its CRD and Helm chart;
#   `prometheus`: promtool, for the alert rule tests (not part of `all`);
#   `flux`: Flux's source-controller + kustomize-controller and their CRDs, for the GitOps tests;
#   `helm`: helm v3, for the chart tests (neither part of `all`).
# Usage: .ci/build-peers.sh [control-plane|bitnami|prometheus|flux|helm|all]   (default: all)
# Prints the component's bin directory on the last line of stdout (the cache root for `all`).
# Idempotent: a cached build is reused.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.35.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
SEALED_SECRETS_VERSION=${SEALED_SECRETS_VERSION:-0.36.6}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-0.316.0}  # Go module version of github.com/prometheus/prometheus
# Flux v1.10 needs a newer Go than the machine's; both controllers of a Flux release share one version.
FLUX_VERSION=${FLUX_VERSION:-1.9.6}
HELM_VERSION=${HELM_VERSION:-3.22.0}
CACHE=${SEALER_PEERS_CACHE:-$HOME/.cache/sealer-peers}
what=${1:-all}

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { echo "build-peers: $*" >&2; }

build_k8s() {
  local dir="$CACHE/k8s-v$K8S_VERSION"
  if [[ -x $dir/bin/kube-apiserver && -x $dir/bin/kube-controller-manager ]]; then return; fi
  log "building kube-apiserver + kube-controller-manager v$K8S_VERSION (first build takes many minutes)"
  local start=$SECONDS minor sv
  minor=$(echo "$K8S_VERSION" | cut -d. -f2); sv="0.${K8S_VERSION#1.}"
  rm -rf "$dir/src"; mkdir -p "$dir/src" "$dir/bin"; cd "$dir/src"
  printf 'module local/k8sbins\n\ngo 1.25.0\n' > go.mod
  local kmod
  kmod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
         python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("GoMod") or sys.exit(d.get("Error")))')
  local goline godebug staging
  goline=$(awk '/^go /{print $2; exit}' "$kmod")
  godebug=$(grep -m1 '^godebug' "$kmod" || true)
  # Every staging module the published go.mod pins at the fake v0.0.0 gets its real version.
  staging=$(grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0( // indirect)?$' "$kmod" | awk '{print $1}')
  {
    echo "module local/k8sbins"; echo; echo "go $goline"; echo
    [[ -n $godebug ]] && { echo "$godebug"; echo; }
    echo "replace ("
    for m in $staging; do printf '\t%s => %s v%s\n' "$m" "$m" "$sv"; done
    echo ")"
  } > go.mod
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
               "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" >&2
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldf" -o "$dir/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager >&2
  log "k8s built in $((SECONDS - start)) s"
}

build_etcd() {
  local dir="$CACHE/etcd-v$ETCD_VERSION"
  if [[ -x $dir/bin/etcd && -x $dir/bin/etcdctl ]]; then return; fi
  log "building etcd v$ETCD_VERSION"
  local start=$SECONDS
  rm -rf "$dir/src"; mkdir -p "$dir/src" "$dir/bin"; cd "$dir/src"
  printf 'module local/etcdbins\n\ngo 1.24\n' > go.mod
  go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@v$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3 >&2
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3 >&2
  log "etcd built in $((SECONDS - start)) s"
}

build_bitnami() {
  local dir="$CACHE/sealed-secrets-v$SEALED_SECRETS_VERSION"
  if [[ -x $dir/bin/kubeseal && -x $dir/bin/controller && -f $dir/crd.yaml ]]; then return; fi
  log "building kubeseal + controller v$SEALED_SECRETS_VERSION"
  local start=$SECONDS
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go install -trimpath "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@v$SEALED_SECRETS_VERSION" >&2
  GOBIN="$dir/bin" go install -trimpath "github.com/bitnami-labs/sealed-secrets/cmd/controller@v$SEALED_SECRETS_VERSION" >&2
  cp "$(go env GOMODCACHE)/github.com/bitnami-labs/sealed-secrets@v$SEALED_SECRETS_VERSION/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml" "$dir/crd.yaml"
  chmod 0644 "$dir/crd.yaml"
  log "sealed-secrets built in $((SECONDS - start)) s"
}

# Bitnami's Helm chart (helm/sealed-secrets in the same module), for the upgrade-from-Bitnami test.
copy_bitnami_chart() {
  local dir="$CACHE/sealed-secrets-v$SEALED_SECRETS_VERSION" mod
  if [[ -f $dir/chart/Chart.yaml ]]; then return; fi
  mod=$(go mod download -json "github.com/bitnami-labs/sealed-secrets@v$SEALED_SECRETS_VERSION" |
        python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("Dir") or sys.exit(d.get("Error")))')
  rm -rf "$dir/chart.tmp"; cp -r "$mod/helm/sealed-secrets" "$dir/chart.tmp"; chmod -R u+w "$dir/chart.tmp"
  mv "$dir/chart.tmp" "$dir/chart"
}

build_prometheus() {
  local dir="$CACHE/prometheus-v$PROMETHEUS_VERSION"
  if [[ -x $dir/bin/promtool ]]; then return; fi
  log "building promtool (prometheus module v$PROMETHEUS_VERSION)"
  local start=$SECONDS
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go install -trimpath -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_VERSION" >&2
  log "promtool built in $((SECONDS - start)) s"
}

# `go install` refuses Flux's controllers: their go.mod replaces the api module with ./api, which the
# module zip lacks. So: copy the module source out of the module cache, use the published api
# module of the same version instead, and build in place. CRDs come from the same module.
build_flux_controller() {  # name dir [module@version to pin]
  local name=$1 dir=$2 pin=${3:-} mod src
  mod="github.com/fluxcd/$name"
  src=$(go mod download -json "$mod@v$FLUX_VERSION" |
        python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("Dir") or sys.exit(d.get("Error")))')
  rm -rf "$dir/src/$name"; mkdir -p "$dir/src"
  cp -r "$src" "$dir/src/$name"; chmod -R u+w "$dir/src/$name"; cd "$dir/src/$name"
  go mod edit -dropreplace="$mod/api" -require="$mod/api@v$FLUX_VERSION"
  [[ -n $pin ]] && go mod edit -replace="${pin%@*}=$pin"
  go build -trimpath -ldflags "-s -w" -o "$dir/bin/$name" . >&2
  cp config/crd/bases/*.yaml "$dir/crd/"
}

build_flux() {
  local dir="$CACHE/flux-v$FLUX_VERSION"
  if [[ -x $dir/bin/source-controller && -x $dir/bin/kustomize-controller && -d $dir/crd ]]; then return; fi
  log "building Flux source-controller + kustomize-controller v$FLUX_VERSION (first build takes minutes)"
  local start=$SECONDS
  rm -rf "$dir/crd"; mkdir -p "$dir/bin" "$dir/crd"
  # The proxy refuses github.com/fluxcd/pkg/artifact v0.18.3, which source-controller asks for.
  build_flux_controller source-controller "$dir" "github.com/fluxcd/pkg/artifact@v0.18.0"
  build_flux_controller kustomize-controller "$dir"
  rm -rf "$dir/src"
  log "flux built in $((SECONDS - start)) s"
}

build_helm() {
  local dir="$CACHE/helm-v$HELM_VERSION"
  if [[ -x $dir/bin/helm ]]; then return; fi
  log "building helm v$HELM_VERSION"
  local start=$SECONDS hmod kver major minor
  mkdir -p "$dir/bin"
  # What helm's Makefile stamps in: its version, and the Kubernetes version `helm template` and
  # `helm lint` assume (.Capabilities.KubeVersion) - the client-go minor it is built with, as 1.x.
  hmod=$(go mod download -json "helm.sh/helm/v3@v$HELM_VERSION" |
         python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("GoMod") or sys.exit(d.get("Error")))')
  kver=$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$hmod")
  major=$(( $(echo "${kver#v}" | cut -d. -f1) + 1 )); minor=$(echo "$kver" | cut -d. -f2)
  local ldf="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" p
  for p in pkg/lint/rules pkg/chartutil; do
    ldf="$ldf -X helm.sh/helm/v3/$p.k8sVersionMajor=$major -X helm.sh/helm/v3/$p.k8sVersionMinor=$minor"
  done
  GOBIN="$dir/bin" go install -trimpath -ldflags "$ldf" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
  log "helm built in $((SECONDS - start)) s"
}

# etcd and k8s are cached apart (either version can move alone); callers get one directory.
link_control_plane() {
  local dir="$CACHE/control-plane-k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin"
  mkdir -p "$dir"
  ln -sf "$CACHE/k8s-v$K8S_VERSION/bin/"* "$CACHE/etcd-v$ETCD_VERSION/bin/"* "$dir/"
  echo "$dir"
}

command -v go >/dev/null || { log "go not found"; exit 3; }
# Two test runs may build at once (both would delete and write the same src/): one builds, the
# other waits and then finds the build cached.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9
case $what in
  control-plane) build_etcd; build_k8s; link_control_plane ;;
  bitnami) build_bitnami; copy_bitnami_chart; echo "$CACHE/sealed-secrets-v$SEALED_SECRETS_VERSION/bin" ;;
  prometheus) build_prometheus; echo "$CACHE/prometheus-v$PROMETHEUS_VERSION/bin" ;;
  flux) build_flux; echo "$CACHE/flux-v$FLUX_VERSION/bin" ;;
  helm) build_helm; echo "$CACHE/helm-v$HELM_VERSION/bin" ;;
  all) build_bitnami; copy_bitnami_chart; build_etcd; build_k8s; link_control_plane >/dev/null; echo "$CACHE" ;;
  *) log "usage: $0 [control-plane|bitnami|prometheus|flux|helm|all]"; exit 2 ;;
esac
