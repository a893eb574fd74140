"""The source's claims as data, and the profile mechanisms that must produce them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.core.vocabulary import FUNCTIONS
from conformance.profiles import claims
from conformance.profiles.claims import lint_claims, load_claims
from conformance.profiles.loader import ProfileError, load_profiles
from conformance.profiles.practice import lint_practice_software, load_practice_software
from conformance.profiles.schema import Profile

OSM = [
    "apimail-smime",
    "docteur-net-cps",
    "cpsure-mail",
    "easycrypt-net",
    "mmua",
    "security-box-mail",
    "sermentis-mms",
    "sign-and-mail",
    "smm",
    "messagerie-sante-ft",
]
APICRYPT = "apimail-apicrypt"


def test_claims_file_lints_clean() -> None:
    assert [str(p) for p in lint_claims()] == []


def test_osm_products_interoperate_pairwise() -> None:
    for sender in OSM:
        for receiver in OSM:
            pair = claims.expected_pair(sender, receiver)
            assert pair is not None and pair.value == "full", (sender, receiver)
            assert pair.source == "interoperability-slide"
            for function in FUNCTIONS:
                cell = claims.expected(sender, receiver, function)
                assert cell is not None and cell.value == "pass", (sender, receiver, function)


@pytest.mark.parametrize("other", [o for o in OSM if o != "easycrypt-net"])
def test_apicrypt_and_osm_clients_none_both_ways(other: str) -> None:
    for a, b in ((APICRYPT, other), (other, APICRYPT)):
        pair = claims.expected_pair(a, b)
        assert pair is not None and pair.value == "none"
        assert "Aucune interopérabilité" in pair.quote
        assert claims.expected(a, b, "sign").value == "fail"  # type: ignore[union-attr]
        assert claims.expected(a, b, "encrypt").value == "fail"  # type: ignore[union-attr]
        assert claims.expected(a, b, "hprim-net").value == "unsupported"  # type: ignore[union-attr]


def test_apicrypt_easycrypt_partial_encryption_only() -> None:
    for a, b in ((APICRYPT, "easycrypt-net"), ("easycrypt-net", APICRYPT)):
        assert claims.expected_pair(a, b).value == "partial"  # type: ignore[union-attr]
        assert claims.expected(a, b, "encrypt").value == "pass"  # type: ignore[union-attr]
        assert claims.expected(a, b, "sign").value == "fail"  # type: ignore[union-attr]
        assert claims.expected(a, b, "sign-encrypt").value == "fail"  # type: ignore[union-attr]
        assert claims.expected(a, b, "attachments") is None  # the source says nothing of it


def test_hprim_net_and_compliance_claims() -> None:
    for sender in OSM:
        assert claims.expected(sender, APICRYPT, "hprim-net").value == "unsupported"  # type: ignore[union-attr]
    built = claims.shipped_claims()
    assert built.compliance[APICRYPT].value == "yes-but"
    assert "carte CPS" in built.compliance[APICRYPT].quote
    assert built.compliance["smm"].value == "yes"


def test_engines_have_no_claims() -> None:
    assert claims.expected("openssl", "smm", "sign") is None
    assert claims.expected_pair("reference", "nss") is None


def test_claims_agree_with_profile_criteria() -> None:
    profiles = load_profiles()
    built = claims.shipped_claims()
    for product, exp in built.compliance.items():
        assert profiles[product].criteria.compliance == exp.value, product


BAD_CLAIMS = """\
groups:
  g:
    members: [smm, no-such-product]
    source: homologation-list
    quote: x
pairs:
  - id: one
    senders: ["@g"]
    receivers: ["@nope"]
    both_ways: false
    interoperability: full
    functions: {sign: pass}
    source: a-blog
    quote: y
  - id: two
    senders: [smm]
    receivers: [smm]
    both_ways: false
    interoperability: none
    functions: {sign: fail, fax: pass}
    source: homologation-list
    quote: z
"""


def test_bad_claims_are_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(BAD_CLAIMS, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        Path("profiles/sources.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint_claims(path)]
    assert got == [
        "claims.yaml:20: pairs[1].functions.fax: 'fax' is not one of 'sign', 'encrypt', "
        "'sign-encrypt', 'hprim-net', 'attachments', 'first-contact'"
    ]
    path.write_text(BAD_CLAIMS.replace(", fax: pass", ""), encoding="utf-8")
    got = sorted(str(p).replace(f"{tmp_path}/", "") for p in lint_claims(path))
    assert got == sorted(
        [
            "claims.yaml:3: groups.g.members[1]: unknown profile 'no-such-product'",
            "claims.yaml:9: pairs[0].receivers[0]: unknown group '@nope'",
            "claims.yaml:13: pairs[0].source: unknown source 'a-blog'",
        ]
    )
    two = BAD_CLAIMS.replace(", fax: pass", "").replace('receivers: ["@nope"]', "receivers: [smm]")
    path.write_text(two, encoding="utf-8")
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint_claims(path)]
    assert (
        "claims.yaml:19: pairs[1].interoperability: smm→smm: none contradicts full of claim 'one'"
        in got
    )
    with pytest.raises(ProfileError):
        load_claims(path)


def test_practice_software_table() -> None:
    assert lint_practice_software() == []
    table = load_practice_software()
    by_editor = {e.editor: e for e in table.editors}
    assert set(by_editor) == {
        "Axilog",
        "Cegedim Logiciels Médicaux",
        "Groupe SEPHIRA",
        "IMAGINE Editions",
        "Prokov Editions",
        "Association @medulo",
    }
    assert by_editor["Association @medulo"].offers_osm is False
    assert by_editor["Groupe SEPHIRA"].products == ["docteur-net-cps", "easycrypt-net"]
    assert by_editor["Cegedim Logiciels Médicaux"].products == ["smm"]
    assert "En cours d'homologation" in by_editor["Cegedim Logiciels Médicaux"].answer
    assert table.source == "practice-software-slide"


# --- the claims come out of the profiles' mechanisms (a static reading of them) --------------


def _smime_readable(sender: Profile, receiver: Profile) -> list[str]:
    """Why receiver's declared S/MIME accept lists refuse what sender sends (empty: it reads it)."""
    if receiver.receive.smime is None:
        return ["reads no S/MIME"]
    o, r = sender.send_options(), receiver.receive_options()
    checks = [
        (r.ciphers, o.encrypt.content),
        (r.key_transports, o.encrypt.key_transport),
        (r.digests, o.sign.digest),
        (r.signature_algorithms, o.sign.algorithm),
        (r.formats, o.sign.format),
        (r.media_types, o.mime.media_types),
    ]
    return [
        f"{value} not accepted"
        for accepted, value in checks
        if accepted is not None and value not in accepted
    ]


def test_osm_send_choices_are_within_every_osm_accept_set() -> None:
    profiles = load_profiles()
    for sender in OSM:
        for receiver in OSM:
            assert _smime_readable(profiles[sender], profiles[receiver]) == [], (sender, receiver)


def test_reference_and_engines_are_not_refused_by_declaration() -> None:
    profiles = load_profiles()
    for sender in ("openssl", "nss", "gpgsm"):
        for receiver in OSM:
            assert _smime_readable(profiles[sender], profiles[receiver]) == [], (sender, receiver)
    # Issue 16: reference's RSA-OAEP with SHA-256 is refused by the 2008 profiles' own
    # declaration (the CPS2ter decrypted PKCS#1 v1.5), and by nothing else.
    for receiver in OSM:
        refused = _smime_readable(profiles["reference"], profiles[receiver])
        assert refused == ["rsa-oaep-sha256 not accepted"], (receiver, refused)


def test_apicrypt_mechanisms() -> None:
    p = load_profiles()
    api, easy = p[APICRYPT], p["easycrypt-net"]
    assert api.send.format == "apicrypt" and api.receive.smime is None
    assert not api.receive.reads_hprim_net and api.receive.apicrypt.reads == "full"
    assert not api.receive.apicrypt.require_signature  # so EASYCRYPT.net's envelope is read
    assert easy.receive.apicrypt.reads == "envelope-only" and easy.receive.apicrypt.holds_key
    assert easy.send.apicrypt_functions == ["encrypt"]
    for name in OSM:
        if name != "easycrypt-net":
            assert p[name].receive.apicrypt.reads == "none" and not p[name].send.apicrypt_functions
        assert _smime_readable(p[name], api) == ["reads no S/MIME"]
