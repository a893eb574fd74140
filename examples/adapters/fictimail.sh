#!/usr/bin/env bash
# Example adapter for a FICTITIOUS product, "FictiMail", in shell, driving `openssl cms`.
#
# The same product as fictimail.py, written with nothing but bash, coreutils and the
# openssl tool, for a vendor whose glue is shell: it implements the agent command
# line of osm-conformance (docs/agent-cli.md), contract version 4. It builds the
# S/MIME structure itself (multipart/signed, application/pkcs7-mime) around what
# `openssl cms -binary -outform DER` computes, so every line ends in CRLF. Replace
# the openssl calls by calls to your product.
#
# What versions 3 and 4 added, and how this adapter answers them: the harness
# protocol (`serve`, version 3) is optional and left out, so the suite runs it once
# per call; FictiMail has no size limit, so it never refuses a message as
# `too-large` (exit 17); and it does not look certificates up in a directory, so a
# send to `--to-address MAIL --directory URL` exits 18 (no-recipient-certificate)
# and the function `first-contact` exits 15 (unsupported-function), which is why
# `capabilities` does not list it.
#
#   fictimail.sh version
#   fictimail.sh capabilities
#   fictimail.sh send --function sign-encrypt --from ID_DIR --to CERT < entity > message
#   fictimail.sh send --function sign-encrypt --from ID_DIR --to-address MAIL \
#       --directory ldap://HOST:PORT/BASE     # exits 18: FictiMail does not use one
#   fictimail.sh receive --identity ID_DIR --trust CA [--crl CRL] --status-out s.json \
#       < message > content
#
# Check it with: osm-conformance adapter check examples/adapters/fictimail.sh
set -u
export LC_ALL=C
CONTRACT_VERSION=4
FUNCTIONS='"sign", "encrypt", "sign-encrypt", "hprim-net", "attachments"'
PROG=${0##*/}

usage() { # a usage error: exit 2, as the contract says
    echo "$PROG: usage error: $*" >&2
    exit 2
}

refuse() { # CODE MESSAGE: a send that cannot be done, nothing on stdout
    echo "$PROG: $1: $2" >&2
    exit "$(exit_of "$1")"
}

TMP=$(mktemp -d) || exit 70
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------- send
b64() { # base64 lines of 64 characters, each ending in CRLF
    base64 -w 64 "$1" | sed 's/$/\r/'
}

email_of() { # the e-mail address in a certificate's subjectAltName
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
        tr ', ' '\n\n' | sed -n 's/^email://p' | head -n 1
}

subject_header() { # RFC 2047 encoded words of at most 11 characters when not ASCII
    local text=$1 out="" i
    if ! printf '%s' "$text" | grep -q '[^ -~]'; then
        printf 'Subject: %s\r\n' "$text"
        return
    fi
    local LC_ALL=C.UTF-8
    for ((i = 0; i < ${#text}; i += 11)); do
        out+="${out:+$'\r\n '}=?utf-8?B?$(printf '%s' "${text:i:11}" | base64 -w 0)?="
    done
    printf 'Subject: %s\r\n' "$out"
}

send() {
    local function="" from="" subject="" date="" msgid="" directory="" to=() addresses=()
    while [ $# -gt 0 ]; do
        case $1 in
        --function) function=${2-}; shift 2 || usage "--function needs a value" ;;
        --from) from=${2-}; shift 2 || usage "--from needs a value" ;;
        --to) to+=("${2-}"); shift 2 || usage "--to needs a value" ;;
        --to-address) addresses+=("${2-}"); shift 2 || usage "--to-address needs a value" ;;
        --directory) directory=${2-}; shift 2 || usage "--directory needs a value" ;;
        --subject) subject=${2-}; shift 2 || usage "--subject needs a value" ;;
        --date) date=${2-}; shift 2 || usage "--date needs a value" ;;
        --message-id) msgid=${2-}; shift 2 || usage "--message-id needs a value" ;;
        --recipient-in) shift 2 || usage "--recipient-in needs a value" ;; # S/MIME only
        *) usage "send: unknown option $1" ;;
        esac
    done
    case $function in
    sign | encrypt | sign-encrypt | hprim-net | attachments | first-contact) ;;
    *) usage "send: --function sign|encrypt|sign-encrypt|hprim-net|attachments|first-contact" ;;
    esac
    [ -n "$from" ] || usage "send: --from is required"
    [ ${#to[@]} -eq 0 ] || [ ${#addresses[@]} -eq 0 ] ||
        usage "send: --to and --to-address: give the certificates, or the addresses to look up"
    [ ${#addresses[@]} -eq 0 ] || [ -n "$directory" ] ||
        usage "send: --to-address needs --directory ldap://HOST:PORT/BASE"
    [ "$function" != first-contact ] ||
        refuse unsupported-function "FictiMail does not do first-contact (no directory lookup)"
    [ ${#addresses[@]} -eq 0 ] ||
        refuse no-recipient-certificate "FictiMail does not look ${addresses[0]} up in $directory"
    cat >"$TMP/entity"
    if [ "$function" != encrypt ]; then # multipart/signed (RFC 8551 3.5.3)
        openssl cms -sign -binary -outform DER -md sha256 -signer "$from/sign.pem" \
            -inkey "$from/sign.key.pem" -certfile "$from/chain.pem" \
            -in "$TMP/entity" -out "$TMP/sig.der" 2>"$TMP/err" || {
            cat "$TMP/err" >&2
            exit 70
        }
        local boundary
        boundary="----=_fictimail_$(openssl rand -hex 12)"
        {
            printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
            printf ' micalg=sha-256;\r\n\tboundary="%s"\r\n\r\n' "$boundary"
            printf 'This is an S/MIME signed message\r\n\r\n--%s\r\n' "$boundary"
            cat "$TMP/entity"
            printf '\r\n--%s\r\n' "$boundary"
            printf 'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
            printf 'Content-Transfer-Encoding: base64\r\n'
            printf 'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
            b64 "$TMP/sig.der"
            printf '\r\n--%s--\r\n' "$boundary"
        } >"$TMP/signed"
        mv "$TMP/signed" "$TMP/entity"
    fi
    if [ "$function" != sign ]; then # application/pkcs7-mime; smime-type=enveloped-data
        openssl cms -encrypt -binary -outform DER -aes-256-cbc -in "$TMP/entity" \
            -out "$TMP/env.der" "${to[@]}" "$from/encrypt.pem" 2>"$TMP/err" || {
            cat "$TMP/err" >&2
            exit 70
        }
        {
            printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data;'
            printf ' name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n'
            printf 'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
            b64 "$TMP/env.der"
        } >"$TMP/entity"
    fi
    local rcpt="" cert
    for cert in "${to[@]}"; do
        rcpt+="${rcpt:+, }$(email_of "$cert")"
    done
    printf 'From: %s\r\n' "$(sed -n 's/.*"email": *"\([^"]*\)".*/\1/p' "$from/identity.json")"
    printf 'To: %s\r\n' "$rcpt"
    printf 'Date: %s\r\n' "${date:-$(date -R)}"
    printf 'Message-ID: %s\r\n' "${msgid:-<$(openssl rand -hex 16)@fictimail.example>}"
    subject_header "$subject"
    printf 'MIME-Version: 1.0\r\n'
    cat "$TMP/entity"
}

# ---------------------------------------------------------------- receive
ERRORS=""        # the status's errors, as JSON objects
FIRST_ERROR=""   # the exit code of the first error in the contract's order
ORDER="internal malformed too-large unsupported-function no-recipient-certificate unsupported-format cannot-decrypt unsupported-algorithm not-encrypted bad-signature revoked-signer untrusted-signer signer-mismatch no-signature"

exit_of() {
    case $1 in
    no-signature) echo 10 ;; bad-signature) echo 11 ;;
    untrusted-signer | revoked-signer | signer-mismatch) echo 12 ;;
    cannot-decrypt | not-encrypted) echo 13 ;;
    unsupported-algorithm | unsupported-format) echo 14 ;;
    unsupported-function) echo 15 ;; malformed) echo 16 ;;
    too-large) echo 17 ;; no-recipient-certificate) echo 18 ;; *) echo 70 ;;
    esac
}

add_error() { # CODE MESSAGE: the message made safe for JSON (one line, no quote)
    local text
    text=$(printf '%s' "$2" | tr '\r\n\t"\\' '     ' | tr -cd ' -~' | tail -c 300)
    ERRORS+="${ERRORS:+, }{\"code\": \"$1\", \"message\": \"$text\"}"
    local code rank=0 best=99 mine=99
    for code in $ORDER; do
        [ "$code" = "$1" ] && mine=$rank
        [ -n "$FIRST_ERROR" ] && [ "$code" = "$FIRST_ERROR" ] && best=$rank
        rank=$((rank + 1))
    done
    if [ -z "$FIRST_ERROR" ] || [ "$mine" -lt "$best" ]; then FIRST_ERROR=$1; fi
}

head_of() { # the header block of a MIME entity, unfolded, lower-cased
    sed '/^\r\{0,1\}$/q' "$1" | tr -d '\r' | sed ':a;N;$!ba;s/\n[ \t]/ /g' |
        tr '[:upper:]' '[:lower:]'
}

author_of() { # the one From: mailbox, or nothing when there is not exactly one
    local froms
    froms=$(head_of "$1" | grep '^from:')
    [ "$(printf '%s\n' "$froms" | grep -c '^from:')" = 1 ] || return 0
    [ "$(printf '%s' "$froms" | tr -cd '@' | wc -c)" = 1 ] || return 0
    printf '%s' "$froms" | grep -o '[^<>" ,:]*@[^<>" ,]*' | head -n 1
}

json_bool() { if [ "$1" = 1 ]; then echo true; else echo false; fi; }
json_or_null() { if [ -z "$1" ]; then echo null; else json_bool "$1"; fi; }

receive() {
    local me="" out="" trust=() crls=()
    while [ $# -gt 0 ]; do
        case $1 in
        --identity) me=${2-}; shift 2 || usage "--identity needs a value" ;;
        --trust) trust+=("${2-}"); shift 2 || usage "--trust needs a value" ;;
        --crl) crls+=("${2-}"); shift 2 || usage "--crl needs a value" ;;
        --status-out) out=${2-}; shift 2 || usage "--status-out needs a value" ;;
        *) usage "receive: unknown option $1" ;;
        esac
    done
    [ -n "$me" ] || usage "receive: --identity is required"
    cat >"$TMP/message"
    local content="$TMP/message" encrypted=0 decrypted=0 signed=0 sig_ok="" chain_ok=""
    local layers="" signer="null" integrity=0 authentication=0 nonrep=0 digest=""
    if head_of "$content" | grep -q '^content-type:.*enveloped-data'; then
        encrypted=1
        layers='"enveloped-data"'
        if openssl cms -decrypt -recip "$me/encrypt.pem" -inkey "$me/encrypt.key.pem" \
            -in "$content" -out "$TMP/decrypted" 2>"$TMP/err"; then
            decrypted=1
            content="$TMP/decrypted"
        elif grep -qi 'unsupported' "$TMP/err"; then
            add_error unsupported-algorithm "FictiMail (openssl): $(cat "$TMP/err")"
        else
            add_error cannot-decrypt "FictiMail (openssl): $(cat "$TMP/err")"
        fi
    fi
    if [ -z "$FIRST_ERROR" ] &&
        head_of "$content" | grep -q '^content-type:.*\(pkcs7-signature\|signed-data\)'; then
        signed=1
        layers+="${layers:+, }\"signed-data\""
        digest=$(openssl cms -cmsout -print -noout -in "$content" 2>/dev/null |
            grep -A 1 'digestAlgorithm:' | sed -n 's/.*algorithm: \([a-z0-9-]*\).*/\1/p' |
            head -n 1)
        if [ "$digest" = md5 ]; then # a digest anyone can collide: not read
            add_error unsupported-algorithm "FictiMail does not accept the md5 digest"
        elif openssl cms -verify -noverify -signer "$TMP/signer.pem" -in "$content" \
            -out "$TMP/verified" 2>"$TMP/err"; then
            sig_ok=1
            integrity=1
            # The trust anchors and the CRLs in one file: openssl reads both from -CAfile.
            cat "${trust[@]}" "${crls[@]}" >"$TMP/anchors.pem" 2>/dev/null
            local crl_check=()
            [ ${#crls[@]} -gt 0 ] && crl_check=(-crl_check_all)
            if openssl cms -verify -CAfile "$TMP/anchors.pem" "${crl_check[@]}" \
                -purpose smimesign -in "$content" -out /dev/null 2>"$TMP/err"; then
                chain_ok=1
            else
                chain_ok=0
                if grep -q revoked "$TMP/err"; then
                    add_error revoked-signer "$(cat "$TMP/err")"
                else
                    add_error untrusted-signer "$(cat "$TMP/err")"
                fi
            fi
            local mail author usage_nr=0
            mail=$(email_of "$TMP/signer.pem" | tr '[:upper:]' '[:lower:]')
            author=$(author_of "$TMP/message")
            if [ -z "$author" ] || [ "$author" != "$mail" ]; then
                add_error signer-mismatch "From: ${author:-no single author}, signer ${mail:-unnamed}"
            elif [ "$chain_ok" = 1 ]; then
                authentication=1
            fi
            openssl x509 -in "$TMP/signer.pem" -noout -ext keyUsage 2>/dev/null |
                grep -q 'Non Repudiation' && usage_nr=1
            [ "$authentication" = 1 ] && [ "$usage_nr" = 1 ] && nonrep=1
            local subject
            subject=$(openssl x509 -in "$TMP/signer.pem" -noout -subject -nameopt RFC2253,-esc_msb |
                sed 's/^subject=//' | tr -d '"\\')
            signer="{\"subject\": \"$subject\", \"email\": \"$mail\", \"idnat\": null,"
            signer+=" \"non_repudiation\": $(json_bool "$usage_nr")}"
            content="$TMP/verified"
        else
            sig_ok=0
            add_error bad-signature "$(cat "$TMP/err")"
        fi
    fi
    local conf=$decrypted digests=""
    [ -n "$digest" ] && digests="\"$digest\""
    cover() { if [ "$1" = 1 ]; then echo '["message"]'; else echo '[]'; fi; }
    if [ -n "$out" ]; then
        cat >"$out" <<EOF
{
  "decrypted": $(json_bool $decrypted),
  "encrypted": $(json_bool $encrypted),
  "signed": $(json_bool $signed),
  "signature_valid": $(json_or_null "$sig_ok"),
  "chain_valid": $(json_or_null "$chain_ok"),
  "signer": $signer,
  "algorithms": {"digest": [$digests], "signature": [],
                 "content_encryption": [], "key_transport": []},
  "services": {"authentication": $(json_bool $authentication),
               "integrity": $(json_bool $integrity),
               "non_repudiation": $(json_bool $nonrep),
               "confidentiality": $(json_bool "$conf")},
  "coverage": {"authentication": $(cover $authentication), "integrity": $(cover $integrity),
               "non_repudiation": $(cover $nonrep), "confidentiality": $(cover "$conf")},
  "layers": [$layers],
  "errors": [$ERRORS],
  "contract_version": $CONTRACT_VERSION
}
EOF
    fi
    if [ -n "$FIRST_ERROR" ]; then
        exit "$(exit_of "$FIRST_ERROR")"
    fi
    cat "$content"
}

# ---------------------------------------------------------------- verbs
verb=${1-}
[ $# -gt 0 ] && shift
case $verb in
version)
    [ $# -eq 0 ] || usage "version takes no option"
    echo "FictiMail 1.0 (example shell adapter over $(openssl version))"
    ;;
capabilities)
    [ $# -eq 0 ] || usage "capabilities takes no option"
    printf '{"contract_version": %s, "send": [%s], "receive": [%s]}\n' \
        "$CONTRACT_VERSION" "$FUNCTIONS" "$FUNCTIONS"
    ;;
send) send "$@" ;;
receive) receive "$@" ;;
*) usage "unknown verb '${verb}' (expected send, receive, version, capabilities)" ;;
esac
