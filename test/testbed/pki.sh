# The test bed's throwaway PKI (sourced, not run): one recipe for every CA and certificate that
# kube-up.sh, cluster-up.sh and istiod-up.sh make. RSA 2048, SHA-256, one year; keys stay in the
# run's directory and die with it. Before sourcing, define die(); openssl's chatter goes to
# $PKI_DIR/openssl.log and is shown only when a step fails.

pki_ossl() {
  openssl "$@" 2>>"$PKI_DIR/openssl.log" >/dev/null \
    || { cat "$PKI_DIR/openssl.log" >&2; die "openssl $1 failed"; }
}

# pki_ca DIR NAME CN: a self-signed CA, DIR/NAME.key and DIR/NAME.crt.
pki_ca() {
  local dir=$1 name=$2 cn=$3
  PKI_DIR=$dir
  pki_ossl genrsa -out "$dir/$name.key" 2048
  pki_ossl req -x509 -new -key "$dir/$name.key" -sha256 -days 365 -subj "/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$dir/$name.crt"
}

# pki_sign DIR CA NAME SUBJECT USAGE [SANS]: DIR/NAME.key and DIR/NAME.crt signed by DIR/CA.*,
# for extendedKeyUsage USAGE (serverAuth, clientAuth or both), with subjectAltName SANS if given.
pki_sign() {
  local dir=$1 ca=$2 name=$3 subj=$4 usage=$5 sans=${6:-}
  PKI_DIR=$dir
  pki_ossl genrsa -out "$dir/$name.key" 2048
  pki_ossl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$dir/$name.ext"
  pki_ossl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt"
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}
