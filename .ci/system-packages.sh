#!/usr/bin/env bash
# Debian packages the tests use, installed when missing (a fresh machine has none of them):
#   gnome-keyring + dbus-daemon: a real Secret Service keyring backend for the keyring store tests
#   openssh-client: ssh-keygen, to check our key fingerprints against OpenSSH's
#   buildah, podman, runc, mmdebstrap: the controller image, built from a Debian base made here and
#     run as a Pod would (.ci/build-image.sh); runc because crun 1.8 refuses hybrid cgroups
#   lua5.1 + lua-cjson: Argo CD's SealedSecret health check (Lua 5.1, as Argo's gopher-lua) run for real
#   git: the repository Flux's source-controller clones, served by git's own http-backend
set -euo pipefail
need=()
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
for tool in buildah podman runc mmdebstrap; do command -v $tool >/dev/null || need+=($tool); done
command -v lua5.1 >/dev/null || need+=(lua5.1)
lua5.1 -e 'require "cjson"' 2>/dev/null || need+=(lua-cjson)
[[ -x /usr/lib/git-core/git-http-backend ]] || need+=(git)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "system-packages: missing ${need[*]} (install them, or the tests that need them skip)" >&2
  exit 0
fi
echo "system-packages: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
