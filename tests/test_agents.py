"""Agents exchanging real messages: every shipped pair, the source's facts, and their causes.

Each exchange is a whole one (send, the in-memory transport with the Apicrypt
model's relay, receive, judgement by conformance.matrix.exchange). What an
exchange must give is computed from the two profiles (tests/agents_support.py),
never copied from a table of answers; the source document's facts are then
checked on top, and shown to move when the profile fields that cause them do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_support import (
    implied,
    is_real_engine,
    make_cast,
    need_tools,
    sends_apicrypt,
    software_keys,
    with_changes,
)

from conformance.agents.profiled import ProfileAgent
from conformance.core.vocabulary import Function
from conformance.matrix.cast import Cast
from conformance.matrix.exchange import Observation, exchange
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile
from conformance.scenarios import basic_scenario
from conformance.status import ErrorCode

__all__ = ["software_keys"]  # the module fixture, used below

PROFILES = load_profiles()
OSM = sorted(i for i, p in PROFILES.items() if p.homologation.status == "osm")
APICRYPT = sorted(i for i, p in PROFILES.items() if p.send.format == "apicrypt")
EASYCRYPT = "easycrypt-net"
OSM_BUT_EASYCRYPT = [i for i in OSM if i != EASYCRYPT]
PAIRS = [(s, r) for s in sorted(PROFILES) for r in sorted(PROFILES)]
TIMINGS: dict[tuple[str, str], float] = {}


def _marks(*ids: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.engines] if any(is_real_engine(PROFILES[i]) for i in ids) else []


@pytest.fixture(scope="module")
def cast(software_keys: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    made = make_cast(PROFILES, tmp_path_factory.mktemp("agents"))
    yield made
    made.close()
    if TIMINGS:
        slow = sorted(TIMINGS.items(), key=lambda i: -i[1])[:5]
        total = sum(TIMINGS.values())
        print(f"\nagent pairs: {len(TIMINGS)} exchanges in {total:.1f}s; slowest:")
        for (s, r), t in slow:
            print(f"  {s} -> {r}: {t:.2f}s")


def run(cast: Cast, sender: str, receiver: str, function: Function) -> Observation:
    need_tools(cast.profiles[sender], cast.profiles[receiver])
    return exchange(
        basic_scenario(function),
        cast.seat(sender, "sender"),
        cast.seat(receiver, "receiver"),
        cast.world(),
    )


# --- 1. every pair, both ways, as the profiles imply -------------------------------------


@pytest.mark.parametrize(
    ("sender", "receiver"),
    [pytest.param(s, r, marks=_marks(s, r), id=f"{s}->{r}") for s, r in PAIRS],
)
def test_pair_sign_encrypt_as_profiles_imply(cast: Cast, sender: str, receiver: str) -> None:
    want = implied(PROFILES[sender], PROFILES[receiver], "sign-encrypt")
    if want is None:
        signs_only = [i for i in (sender, receiver) if PROFILES[i].send.functions == ["sign"]]
        assert signs_only, "every shipped agent but a signatures-only engine does sign-encrypt"
        pytest.skip(f"{', '.join(signs_only)} does signatures only")
    started = time.perf_counter()
    obs = run(cast, sender, receiver, "sign-encrypt")
    TIMINGS[(sender, receiver)] = time.perf_counter() - started
    want.check(obs.ok, obs.reason)
    if obs.ok:
        assert all(obs.services.values()), obs.services
        assert obs.reception is not None and obs.reception.content is not None


def test_the_pairs_cover_every_shipped_agent_and_both_outcomes() -> None:
    # Guards the test above against a profile set where it would prove little.
    implications = [implied(PROFILES[s], PROFILES[r], "sign-encrypt") for s, r in PAIRS]
    outcomes = {i.ok for i in implications if i is not None}
    assert outcomes == {True, False}
    assert {s for s, _ in PAIRS} == set(PROFILES) and len(PROFILES) >= 14


# --- 2. the source document's facts, from real exchanges ---------------------------------

FUNCTIONS3: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")


def test_osm_products_interoperate(cast: Cast) -> None:
    """The source: "Toutes les Messageries OSM sont inter opérables de principe"; every ordered
    pair of OSM products, every function."""
    assert len(OSM) >= 9
    failures = []
    for sender in OSM:
        for receiver in OSM:
            for function in ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments"):
                obs = run(cast, sender, receiver, function)
                if not obs.ok:
                    failures.append(f"{sender} -> {receiver} {function}: {obs.reason}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("osm", OSM_BUT_EASYCRYPT)
def test_apicrypt_and_smime_products_read_nothing_of_each_other(cast: Cast, osm: str) -> None:
    """The source: "Apicrypt <-> client de messagerie homologué OSM: aucune interopérabilité"."""
    for apicrypt in APICRYPT:
        for sender, receiver in ((apicrypt, osm), (osm, apicrypt)):
            for function in FUNCTIONS3:
                obs = run(cast, sender, receiver, function)
                assert not obs.ok
                assert obs.reason is not None and obs.reason.startswith("unsupported-format"), (
                    f"{sender} -> {receiver} {function}: {obs.reason}"
                )
                assert obs.reception is not None and obs.reception.content is None
                assert not any(obs.services.values()), "nothing is read, no service held"


def test_apicrypt_and_easycrypt_encryption_works_signature_does_not(cast: Cast) -> None:
    """The source: "Apicrypt <-> EASYCRYPT.net: interopérabilité partielle, restreinte
    à la fonction « chiffrement »"."""
    function: Function
    for apicrypt in APICRYPT:
        for sender, receiver in ((apicrypt, EASYCRYPT), (EASYCRYPT, apicrypt)):
            obs = run(cast, sender, receiver, "encrypt")
            assert obs.ok, f"{sender} -> {receiver} encrypt: {obs.reason}"
            assert obs.message is not None and b"APICRYPT MODEL" in obs.message
            assert obs.delivered is not None and obs.delivered.startswith(b"Received: by relais")
        # Apicrypt signs; EASYCRYPT.net opens the envelope but cannot check the signature.
        for function in ("sign", "sign-encrypt"):
            obs = run(cast, apicrypt, EASYCRYPT, function)
            assert not obs.ok
            assert obs.reason == "services not held: authentication, integrity, non-repudiation"
            assert obs.services["confidentiality"] and not obs.services["integrity"]
            assert obs.reception is not None and obs.reception.status.signed
            assert obs.reception.status.signature_valid is None, "not checked, not 'bad'"
            assert obs.reception.content == obs.entity, "the letter itself is read"
        # EASYCRYPT.net cannot make an Apicrypt signature: its signed mail is S/MIME,
        # which Apicrypt does not read.
        for function in ("sign", "sign-encrypt"):
            obs = run(cast, EASYCRYPT, apicrypt, function)
            assert not obs.ok and (obs.reason or "").startswith("unsupported-format")


def test_apicrypt_users_between_themselves(cast: Cast) -> None:
    """Secure between Apicrypt users (not CPS: the compliance criterion says so)."""
    for apicrypt in APICRYPT:
        for function in FUNCTIONS3:
            obs = run(cast, apicrypt, apicrypt, function)
            assert obs.ok, f"{apicrypt} {function}: {obs.reason}"


# --- 3. the facts move when the profiles do -----------------------------------------------


_ALL_TRANSPORTS: dict[str, object] = {
    "smime.key_transports": ["rsa-pkcs1v15", "rsa-oaep-sha1", "rsa-oaep-sha256"]
}


def _variant_cast(tmp_path: Path, *variants: Profile) -> Cast:
    profiles = dict(PROFILES)
    for variant in variants:
        profiles[variant.id] = variant
    return make_cast(profiles, tmp_path)


def test_easycrypt_without_its_apicrypt_key_reads_nothing_from_apicrypt(
    software_keys: None, tmp_path: Path
) -> None:
    keyless = with_changes(
        PROFILES[EASYCRYPT], "easycrypt-keyless", receive={"apicrypt.holds_key": False}
    )
    cast = _variant_cast(tmp_path, keyless)
    try:
        for apicrypt in APICRYPT:
            for function in FUNCTIONS3:
                obs = run(cast, apicrypt, keyless.id, function)
                assert not obs.ok
                assert (obs.reason or "").startswith("cannot-decrypt"), obs.reason
                assert obs.reception is not None and obs.reception.content is None
            # The unchanged product still reads the same Apicrypt letter.
            assert run(cast, apicrypt, EASYCRYPT, "encrypt").ok
    finally:
        cast.close()


def test_a_product_that_drops_3des_no_longer_reads_3des_senders(
    software_keys: None, tmp_path: Path
) -> None:
    # Widened to reference's OAEP-SHA256 (the 2008 profiles accept PKCS#1 v1.5 only), so
    # that reference, the one AES sender, is refused for nothing but its cipher.
    base = with_changes(PROFILES["sermentis-mms"], "sermentis-wide", receive=_ALL_TRANSPORTS)
    assert base.receive.smime is not None and base.receive.smime.ciphers is not None
    assert "des-ede3-cbc" in base.receive.smime.ciphers
    ciphers = [c for c in base.receive.smime.ciphers if c != "des-ede3-cbc"]
    no3des = with_changes(base, "sermentis-no-3des", receive={"smime.ciphers": ciphers})
    cast = _variant_cast(tmp_path, no3des, base)
    senders = {
        i: p.send.encryption.content
        for i, p in PROFILES.items()
        if p.send.encryption is not None and not is_real_engine(p)
    }
    triple = sorted(i for i, c in senders.items() if c == "des-ede3-cbc")
    others = sorted(i for i, c in senders.items() if c != "des-ede3-cbc")
    assert triple and others, "the shipped profiles have 3DES senders and others"
    try:
        for sender in triple:
            assert run(cast, sender, base.id, "encrypt").ok, "the unchanged product reads it"
            obs = run(cast, sender, no3des.id, "encrypt")
            assert not obs.ok
            assert obs.reason is not None and "des-ede3-cbc" in obs.reason, obs.reason
            assert obs.reason.startswith(ErrorCode.UNSUPPORTED_ALGORITHM.value), obs.reason
        for sender in others:
            obs = run(cast, sender, no3des.id, "sign-encrypt")
            assert obs.ok, f"{sender} ({senders[sender]}): {obs.reason}"
    finally:
        cast.close()


@pytest.mark.parametrize(
    ("accept_list", "sent"),
    [
        ("ciphers", "encryption.content"),
        ("key_transports", "encryption.key_transport"),
        ("digests", "signature.digest"),
        ("formats", "signature.format"),
        ("media_types", "mime.media_types"),
    ],
)
def test_each_accept_list_refuses_what_it_leaves_out(
    software_keys: None, tmp_path: Path, accept_list: str, sent: str
) -> None:
    sender = PROFILES["reference"]
    value: object = sender.send
    for name in sent.split("."):
        value = getattr(value, name)
    assert isinstance(value, str)
    # A 2008 product widened to every key transport reference may send (the 2008 profiles
    # accept PKCS#1 v1.5 only), so that each list is narrowed from "accepts it".
    base = with_changes(
        PROFILES["sermentis-mms"],
        "sermentis-wide",
        receive=_ALL_TRANSPORTS,
    )
    assert base.receive.smime is not None
    accepted = getattr(base.receive.smime, accept_list)
    assert value in accepted, "the unchanged product accepts it"
    narrowed = [v for v in accepted if v != value]
    variant = with_changes(base, "sermentis-narrow", receive={f"smime.{accept_list}": narrowed})
    want = implied(sender, variant, "sign-encrypt")
    assert want is not None and not want.ok and value in want.words[0]
    cast = _variant_cast(tmp_path, variant, base)
    try:
        obs = run(cast, sender.id, variant.id, "sign-encrypt")
        want.check(obs.ok, obs.reason)
        assert run(cast, sender.id, base.id, "sign-encrypt").ok
    finally:
        cast.close()


def test_a_product_that_starts_sending_aes_is_read_by_the_one_without_3des(
    software_keys: None, tmp_path: Path
) -> None:
    """The same field, on the other side: what was a failure becomes a pass."""
    base = PROFILES["smm"]
    aes = with_changes(base, "smm-aes", send={"encryption.content": "aes128-cbc"})
    assert base.receive.smime is not None and base.receive.smime.ciphers is not None
    ciphers = [c for c in base.receive.smime.ciphers if c != "des-ede3-cbc"]
    no3des = with_changes(base, "smm-no-3des", receive={"smime.ciphers": ciphers})
    cast = _variant_cast(tmp_path, aes, no3des)
    try:
        assert not run(cast, base.id, no3des.id, "encrypt").ok
        assert run(cast, aes.id, no3des.id, "encrypt").ok
    finally:
        cast.close()


def test_a_product_made_to_speak_apicrypt_for_signatures_still_cannot_sign_for_it(
    software_keys: None, tmp_path: Path
) -> None:
    """EASYCRYPT.net told to use the Apicrypt envelope for sign-encrypt too: the letter
    arrives encrypted, but without an Apicrypt signature the services are not all held."""
    easy = with_changes(
        PROFILES[EASYCRYPT],
        "easycrypt-more",
        send={"apicrypt_functions": ["encrypt", "sign-encrypt"]},
    )
    cast = _variant_cast(tmp_path, easy)
    try:
        for apicrypt in APICRYPT:
            assert sends_apicrypt(easy, PROFILES[apicrypt], "sign-encrypt")
            obs = run(cast, easy.id, apicrypt, "sign-encrypt")
            assert obs.message is not None and b"APICRYPT MODEL" in obs.message
            assert not obs.ok
            assert obs.reason == (
                "services not held: authentication, integrity, non-repudiation"
            ), obs.reason
    finally:
        cast.close()


def test_profile_agent_never_names_a_product() -> None:
    """Nothing in the engine knows which product it plays."""
    source = Path(ProfileAgent.__module__.replace(".", "/") + ".py")
    text = (Path(__file__).resolve().parent.parent / source).read_text(encoding="utf-8")
    for product in PROFILES:
        assert f'"{product}"' not in text and f"'{product}'" not in text
