#!/usr/bin/env bash
# A development PKI for chaos's mutual TLS: a CA, and certificates for the
# controller, agents and operators, with the identities PeerIdentity reads
# (the URI SAN). For trying TLS out and for tests; production should issue
# from its own CA with its own tooling, the same SANs.
#
# Usage: deploy/pki/make-dev-pki.sh [-o OPERATOR]... [-H HOST]... [-d DAYS] DIR [AGENT...]
#   DIR          where the files go (created 0700); an existing DIR/ca.key is reused
#   AGENT...     agent names (default: agent1)
#   -o OPERATOR  an operator certificate (repeatable; default: admin)
#   -H HOST      an extra DNS name or IP address for the controller's and every
#                agent's certificate, as clients dial them (repeatable)
#   -d DAYS      validity of the leaf certificates (default 30)
#
# Writes, keys mode 0600:
#   ca.crt ca.key                         the CA (10 years), kept on re-runs
#   controller.crt controller.key         URI spiffe://chaos/controller
#   agent-NAME.crt agent-NAME.key         URI spiffe://chaos/agent/NAME, DNS NAME
#   operator-NAME.crt operator-NAME.key   URI spiffe://chaos/operator/NAME (client only)
# Server certificates (controller, agents) also carry DNS localhost and
# IP 127.0.0.1, and serve as client certificates too (registration, the
# controller's calls to agents). A re-run issues every leaf again (new key,
# new serial) from the same CA: that is a rotation (see docs/SECURITY.md).
set -euo pipefail

usage() { sed -n '7,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

OPERATORS=() HOSTS=() DAYS=30
while getopts "o:H:d:h" opt; do
  case "$opt" in
    o) OPERATORS+=("$OPTARG") ;;
    H) HOSTS+=("$OPTARG") ;;
    d) DAYS=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
DIR=$1; shift
AGENTS=("$@")
[ ${#AGENTS[@]} -gt 0 ] || AGENTS=(agent1)
[ ${#OPERATORS[@]} -gt 0 ] || OPERATORS=(admin)
for name in "${AGENTS[@]}" "${OPERATORS[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "make-dev-pki: bad name '$name'" >&2; exit 2; }
done

umask 077
mkdir -p "$DIR"
TMP=$(mktemp -d "$DIR/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# A minimal config, so the host's openssl.cnf adds nothing of its own.
cat > "$TMP/req.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CNF

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -s "$DIR/ca.key" ] || [ ! -s "$DIR/ca.crt" ]; then
  new_key "$TMP/ca.key"
  { cat "$TMP/req.cnf"; cat <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
  } > "$TMP/ca.cnf"
  openssl req -new -x509 -config "$TMP/ca.cnf" -extensions ca -key "$TMP/ca.key" \
    -subj "/O=chaos dev/CN=chaos dev CA" -days 3650 -out "$TMP/ca.crt"
  mv "$TMP/ca.key" "$DIR/ca.key"
  chmod 0644 "$TMP/ca.crt"
  mv "$TMP/ca.crt" "$DIR/ca.crt"
fi

# issue NAME CN SAN EKU: DIR/NAME.key and DIR/NAME.crt, each replaced by a rename.
issue() {
  local name=$1 cn=$2 san=$3 eku=$4
  new_key "$TMP/$name.key"
  openssl req -new -config "$TMP/req.cnf" -key "$TMP/$name.key" -subj "/O=chaos dev/CN=$cn" \
    -out "$TMP/$name.csr"
  cat > "$TMP/$name.ext" <<CNF
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $eku
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -extfile "$TMP/$name.ext" \
    -extensions leaf -out "$TMP/$name.crt" 2>/dev/null
  chmod 0644 "$TMP/$name.crt"
  mv "$TMP/$name.key" "$DIR/$name.key"
  mv "$TMP/$name.crt" "$DIR/$name.crt"
  echo "$DIR/$name.crt: $san"
}

# The names clients dial servers by: localhost, 127.0.0.1, and every -H.
server_names() {
  local names="DNS:localhost,IP:127.0.0.1" h
  for h in "${HOSTS[@]}" "$@"; do
    if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then names+=",IP:$h"; else names+=",DNS:$h"; fi
  done
  echo "$names"
}

issue controller chaos-controller "URI:spiffe://chaos/controller,$(server_names)" \
  "serverAuth, clientAuth"
for a in "${AGENTS[@]}"; do
  issue "agent-$a" "$a" "URI:spiffe://chaos/agent/$a,$(server_names "$a")" "serverAuth, clientAuth"
done
for o in "${OPERATORS[@]}"; do
  issue "operator-$o" "$o" "URI:spiffe://chaos/operator/$o" "clientAuth"
done
