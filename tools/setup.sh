#!/usr/bin/env bash
# Set-up for osm-conformance: installs what is missing, quickly does nothing
# when everything is there. Called by `make setup` (and so by `make run` and
# `make test`). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
# Debian package -> a file that proves it is installed.
declare -A DEBS=(
  [softhsm2]=/usr/lib/softhsm/libsofthsm2.so
  [libnss3-tools]=/usr/bin/cmsutil
  [gpgsm]=/usr/bin/gpgsm
  # gpgsm with its keys on the CPS card (profile gpgsm-cps): gpg-agent's PKCS#11 card daemon.
  [gnupg-pkcs11-scd]=/usr/bin/gnupg-pkcs11-scd
  [openssl]=/usr/bin/openssl
  [chromium]=/usr/bin/chromium
  # The CPS directory (conformance/directory): the suite starts its own slapd on loopback.
  [slapd]=/usr/sbin/slapd
  [ldap-utils]=/usr/bin/ldapsearch
  # The engine harnesses (harnesses/*): a C compiler, libcrypto's and NSS's headers, cJSON.
  [gcc]=/usr/bin/gcc
  [make]=/usr/bin/make
  [libssl-dev]=/usr/include/openssl/cms.h
  [libcjson-dev]=/usr/include/cjson/cJSON.h
  [libnss3-dev]=/usr/include/nss/cms.h
  # Go's pkcs7 (harnesses/go-pkcs7, built offline from Debian's Go sources) and GnuTLS certtool.
  [golang-go]=/usr/bin/go
  [golang-github-fullsailor-pkcs7-dev]=/usr/share/gocode/src/go.mozilla.org/pkcs7/sign.go
  [gnutls-bin]=/usr/bin/certtool
  # The PKI.js harness (harnesses/pkijs): Node, and npm to install PKI.js into the cache.
  [nodejs]=/usr/bin/node
  [npm]=/usr/bin/npm
  # The BouncyCastle harness (harnesses/bouncycastle): a JDK, BouncyCastle 1.72, JavaMail.
  [default-jdk-headless]=/usr/bin/javac
  [libbcprov-java]=/usr/share/java/bcprov.jar
  [libbcpkix-java]=/usr/share/java/bcpkix.jar
  [libbcmail-java]=/usr/share/java/bcmail.jar
  # Real mail (conformance/mail): a Postfix hop and Dovecot mailboxes the suite starts itself
  # on loopback, never the system's (their packages' own services are not used).
  [postfix]=/usr/sbin/postfix
  [dovecot-imapd]=/usr/sbin/dovecot
  [dovecot-lmtpd]=/usr/lib/dovecot/lmtp
)

missing=()
for pkg in "${!DEBS[@]}"; do
  [ -e "${DEBS[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix asks what kind of mail server this is: none (the suite writes its own main.cf).
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: WARNING: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
    echo "setup: the tests and agents that need them will be skipped, with this reason." >&2
  fi
fi

# The virtual environment: rebuilt only when pyproject.toml changed.
stamp=$VENV/.osm-setup-stamp
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x $VENV/bin/python ]; then
  echo "setup: creating $VENV"
  $PYTHON -m venv $VENV
fi
if [ ! -f $stamp ] || [ "$(cat $stamp)" != "$want" ]; then
  echo "setup: installing the package and its dependencies into $VENV"
  $VENV/bin/python -m pip install -q --upgrade pip >/dev/null
  $VENV/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > $stamp
fi

# A wheelhouse of the runtime dependencies, so that tests/test_wheel.py installs the built
# wheel into a fresh environment without the network. Filled once per pyproject.toml.
WHEELHOUSE=.cache/wheelhouse
if [ ! -f $WHEELHOUSE/.osm-setup-stamp ] || [ "$(cat $WHEELHOUSE/.osm-setup-stamp)" != "$want" ]; then
  mapfile -t deps < <($VENV/bin/python -c 'import tomllib
for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]: print(d)')
  echo "setup: filling $WHEELHOUSE with the runtime dependencies"
  mkdir -p $WHEELHOUSE
  if $VENV/bin/python -m pip wheel -q -w $WHEELHOUSE "${deps[@]}" >/dev/null; then
    echo "$want" > $WHEELHOUSE/.osm-setup-stamp
  else
    echo "setup: WARNING: no wheelhouse (network?); tests/test_wheel.py will be skipped" >&2
  fi
fi

# The engine harnesses: long-lived processes answering the real engines' calls
# (conformance/agents/tools.py); make rebuilds one only when its sources changed.
# One that cannot be built is reported, and its engine runs as plain command lines.
for dir in harnesses/*/; do
  [ -f "$dir/Makefile" ] || continue
  if ! make -s -C "$dir" >/dev/null 2>harnesses/.build-errors; then
    echo "setup: WARNING: the harness in $dir did not build (its engine runs as command lines):" >&2
    cat harnesses/.build-errors >&2
  fi
  rm -f harnesses/.build-errors
done
