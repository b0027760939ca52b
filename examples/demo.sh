#!/bin/sh
# Seal the example Secret with the example certificate, then open it again with the example key.
# The example key is public on purpose: it exists only for this demo.
set -eu
# shellcheck disable=SC3040
(set -o pipefail 2>/dev/null) && set -o pipefail
bin=${1:-}
here=$(dirname "$0")
sealer=${bin:+$bin/}sealer
echo "== sealer seal --cert examples/example-cert.pem -o yaml < examples/secret.yaml"
"$sealer" seal --cert "$here/example-cert.pem" -o yaml < "$here/secret.yaml" | tee "${TMPDIR:-/tmp}/sealed-secret.yaml"
echo
echo "== sealer unseal --recovery-private-key examples/example-key.pem -o yaml"
"$sealer" unseal --recovery-private-key "$here/example-key.pem" -o yaml < "${TMPDIR:-/tmp}/sealed-secret.yaml"
