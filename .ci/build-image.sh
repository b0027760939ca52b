#!/usr/bin/env bash
# Builds the controller image (deploy/Dockerfile) with buildah, on a Debian base image made here
# with mmdebstrap: no container registry is reachable, so `python:*-slim` cannot be pulled.
# Elsewhere, build from the public image instead (deploy/README.md, "The image").
#
# Usage: .ci/build-image.sh base           the base image (cached); prints its name
#        .ci/build-image.sh image [TAG...] the controller image; prints its image ID on the last line
#          SBOM_OUT=path: also copy the image's SBOM (/opt/sealer/sbom.spdx.json) there
#
# The base is cached like the Go peers, under ~/.cache/sealer-peers (SEALER_PEERS_CACHE), in a
# directory keyed by everything that goes into it (suite, packages, mmdebstrap options, image
# config); `podman import` puts it into the local containers storage when it is not there.
# The image build uses buildah's layer cache: only what changed is rebuilt.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SEALER_PEERS_CACHE:-$HOME/.cache/sealer-peers}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
what=${1:-image}
[[ $# -gt 0 ]] && shift

# python3-venv: the Dockerfile makes a venv. `essential` has no apt; the merged-usr hook sets up
# merged /usr without the usrmerge package (which would pull in perl). Documentation is left out
# as in Debian's slim images, except the copyright files (the licences of what is shipped).
MMDEBSTRAP_ARGS=(
  --variant=essential --include=python3,python3-venv
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
)
# An imported tarball has no image config; these are what python:*-slim sets.
IMPORT_CHANGES=(
  --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV=LANG=C.UTF-8'
  --change 'CMD=["python3"]'
)
# Debian's podman 4.3 uses crun by default, and crun 1.8 refuses this machine's hybrid cgroups;
# runc works. Containers' default ulimits are above the machine's hard limits, which fails.
RUNTIME_ARGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

log() { echo "build-image: $*" >&2; }

base_key() {
  printf '%s\n' "$DEBIAN_SUITE" "${MMDEBSTRAP_ARGS[@]}" "${IMPORT_CHANGES[@]}" | sha256sum | cut -c1-12
}
BASE_KEY=$(base_key)
BASE_DIR=$CACHE/debian-base-$DEBIAN_SUITE-$BASE_KEY
BASE_IMAGE=localhost/sealer-debian-base:$DEBIAN_SUITE-$BASE_KEY

need() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "not found: ${missing[*]} (.ci/system-packages.sh installs them)"; exit 3
  fi
}

build_base() {
  need mmdebstrap podman
  mkdir -p "$CACHE"
  # Two test runs may build at once: one builds, the other waits and then finds it cached.
  exec 8>"$CACHE/.image-base.lock"
  flock 8
  if [[ ! -s $BASE_DIR/rootfs.tar ]]; then
    log "building the Debian $DEBIAN_SUITE base with mmdebstrap (about a minute)"
    local start=$SECONDS
    rm -rf "$BASE_DIR"; mkdir -p "$BASE_DIR"
    mmdebstrap "${MMDEBSTRAP_ARGS[@]}" "$DEBIAN_SUITE" "$BASE_DIR/rootfs.part.tar" >&2
    mv "$BASE_DIR/rootfs.part.tar" "$BASE_DIR/rootfs.tar"
    podman image rm -f "$BASE_IMAGE" >/dev/null 2>&1 || true
    log "base built in $((SECONDS - start)) s"
  fi
  if ! podman image exists "$BASE_IMAGE"; then
    podman import "${IMPORT_CHANGES[@]}" "$BASE_DIR/rootfs.tar" "$BASE_IMAGE" >/dev/null
  fi
  exec 8>&-
}

build_image() {
  need buildah
  build_base
  local version revision iid secret=()
  version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO/sealer/_version.py")
  revision=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
  # pip in the build trusts what pip here trusts (a TLS-inspecting proxy's CA, say); a build
  # secret, so it never lands in a layer.
  local ca=${PIP_CERT:-$(python3 -m pip config list 2>/dev/null | sed -n "s/^global\.cert='\(.*\)'$/\1/p")}
  [[ -n $ca && -f $ca ]] && secret=(--secret "id=pip-ca,src=$ca")
  iid=$(mktemp)
  local tags=() t
  for t in "$@"; do tags+=(--tag "$t"); done
  local start=$SECONDS
  # The labels again as --label: buildah 1.28's layer cache does not key a LABEL step on the
  # ARG values it expands, so a new revision alone would keep the cached, stale label.
  buildah bud "${RUNTIME_ARGS[@]}" --network host --layers --pull=never \
    -f "$REPO/deploy/Dockerfile" --ignorefile "$REPO/deploy/Dockerfile.dockerignore" \
    --build-arg "PYTHON_IMAGE=$BASE_IMAGE" --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" "${secret[@]}" "${tags[@]}" --iidfile "$iid" \
    --label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.revision=$revision" \
    "$REPO" >&2
  log "image built in $((SECONDS - start)) s"
  if [[ -n ${SBOM_OUT:-} ]]; then
    local cid
    cid=$(podman create "$(cat "$iid")")
    mkdir -p "$(dirname "$SBOM_OUT")"
    podman cp "$cid:/opt/sealer/sbom.spdx.json" "$SBOM_OUT"
    podman rm "$cid" >/dev/null
    log "SBOM: $SBOM_OUT"
  fi
  cat "$iid"; echo
  rm -f "$iid"
}

case $what in
  base) build_base; echo "$BASE_IMAGE" ;;
  image) build_image "$@" ;;
  *) log "usage: $0 [base|image [TAG...]]"; exit 2 ;;
esac
