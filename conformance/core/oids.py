"""The OID registry: one name for each object identifier the project reads or writes.

Every module names an OID through this table (as pyca/cryptography does with
its `oid` module), so that a content type or an algorithm has one spelling
everywhere and a grep finds all its uses. Values are dotted strings, the form
asn1crypto's `.dotted` and the fast CMS walk produce. Only what the code uses
is here; the sources are the RFCs named beside each group. An OID read from a
message is shown to a person through `shown`.
"""

from __future__ import annotations

import re
from typing import Final

# --- CMS content types (RFC 5652 section 4-8, RFC 5083, RFC 3274) ----------------------
DATA: Final = "1.2.840.113549.1.7.1"
SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
ENVELOPED_DATA: Final = "1.2.840.113549.1.7.3"
DIGESTED_DATA: Final = "1.2.840.113549.1.7.5"
ENCRYPTED_DATA: Final = "1.2.840.113549.1.7.6"
COMPRESSED_DATA: Final = "1.2.840.113549.1.9.16.1.9"
AUTH_ENVELOPED_DATA: Final = "1.2.840.113549.1.9.16.1.23"

# --- CMS attributes (RFC 5652 section 11, RFC 8551 2.5.2, RFC 5035) ---------------------
CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
SIGNING_TIME: Final = "1.2.840.113549.1.9.5"
SMIME_CAPABILITIES: Final = "1.2.840.113549.1.9.15"
SIGNING_CERTIFICATE_V2: Final = "1.2.840.113549.1.9.16.2.47"

# --- digests (RFC 3370 2.1, RFC 5754 2) --------------------------------------------------
MD5: Final = "1.2.840.113549.2.5"  # refused everywhere: the downgrade cases write it
SHA1: Final = "1.3.14.3.2.26"
SHA256: Final = "2.16.840.1.101.3.4.2.1"
SHA384: Final = "2.16.840.1.101.3.4.2.2"
SHA512: Final = "2.16.840.1.101.3.4.2.3"

# --- signatures and key transport (RFC 3370, RFC 4055, RFC 4056, RFC 5754) --------------
RSA_ENCRYPTION: Final = "1.2.840.113549.1.1.1"
RSAES_OAEP: Final = "1.2.840.113549.1.1.7"
MGF1: Final = "1.2.840.113549.1.1.8"
RSASSA_PSS: Final = "1.2.840.113549.1.1.10"
MD5_WITH_RSA: Final = "1.2.840.113549.1.1.4"
SHA1_WITH_RSA: Final = "1.2.840.113549.1.1.5"
SHA1_WITH_RSA_OIW: Final = "1.3.14.3.2.29"  # the OIW spelling old tools write
SHA256_WITH_RSA: Final = "1.2.840.113549.1.1.11"
SHA384_WITH_RSA: Final = "1.2.840.113549.1.1.12"
SHA512_WITH_RSA: Final = "1.2.840.113549.1.1.13"
DSA: Final = "1.2.840.10040.4.1"
DSA_WITH_SHA1: Final = "1.2.840.10040.4.3"
DSA_WITH_SHA256: Final = "2.16.840.1.101.3.4.3.2"

# --- content ciphers (RFC 3370 5, RFC 3565, RFC 5084) ------------------------------------
DES_CBC: Final = "1.3.14.3.2.7"  # single DES: refused everywhere, the downgrade cases write it
DES_EDE3_CBC: Final = "1.2.840.113549.3.7"
RC2_CBC: Final = "1.2.840.113549.3.2"
AES128_CBC: Final = "2.16.840.1.101.3.4.1.2"
AES192_CBC: Final = "2.16.840.1.101.3.4.1.22"
AES256_CBC: Final = "2.16.840.1.101.3.4.1.42"
AES128_GCM: Final = "2.16.840.1.101.3.4.1.6"
AES256_GCM: Final = "2.16.840.1.101.3.4.1.46"

# --- certificate extensions and key purposes (RFC 5280 4.2.1.12) -------------------------
EMAIL_PROTECTION: Final = "1.3.6.1.5.5.7.3.4"
ANY_EXTENDED_KEY_USAGE: Final = "2.5.29.37.0"

# --- name attributes (RFC 5280 4.1.2.4, RFC 4519, PKCS #9) -------------------------------
SERIAL_NUMBER: Final = "2.5.4.5"  # where the IGC-Sante certificates carry the idNat
USER_ID: Final = "0.9.2342.19200300.100.1.1"  # UID, the idNat's place in some profiles
EMAIL_ADDRESS: Final = "1.2.840.113549.1.9.1"

# --- the French health PKI (IGC-Sante) ----------------------------------------------------
GIP_CPS_RSA: Final = "1.2.250.1.71.2.6.1"  # the GIP-CPS "RSA" key OID of the CPS cards
TEST_POLICY_ARC: Final = "1.2.250.1.71.999"  # the test PKI's certificate policies (not assigned)
# An extension no one implements, under the test arc: marked critical, a certificate must be
# refused (RFC 5280 4.2; the rejection case defective-unknown-critical-extension).
TEST_UNKNOWN_EXTENSION: Final = TEST_POLICY_ARC + ".99.1"


# --- showing an OID read from a message ---------------------------------------------------

# The longest OID shown whole: 2.25.<a 128-bit UUID> (X.667), the longest in use, has 44
# characters.
SHOWN_CHARACTERS: Final = 64
_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+)+")


def shown(oid: str) -> str:
    """An OID as a message or a report shows it: whole up to `SHOWN_CHARACTERS`, else its
    first arcs and its size ("1.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.[...] (100001 arcs, 200001
    characters)"), elided as `core.cms.oid_arc_problem` shows an OID it refuses. An OID of
    100,000 small arcs is one of an arc's size: it made lines of 200 kB. What is no dotted
    OID (an algorithm's name given in its place) is returned as it is."""
    if len(oid) <= SHOWN_CHARACTERS or not _DOTTED.fullmatch(oid):
        return oid
    head = oid[: oid.rfind(".", 0, SHOWN_CHARACTERS // 2) + 1]
    return f"{head}[...] ({oid.count('.') + 1} arcs, {len(oid)} characters)"
