"""The Apicrypt MODEL (not the real, secret format): keys, wire format, relay, reading.

What the source document says of Apicrypt must come out of these mechanisms:
per-user keys issued by the association, a relay that really re-encrypts
(without it nothing is readable), a signature of its own that only a full
Apicrypt client checks, and tampering that never passes.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from agents_support import make_cast, software_keys
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.apicrypt import RELAY_ADDRESS
from conformance.apicrypt import client as apicrypt
from conformance.apicrypt.relay import addressed_to_relay, forward
from conformance.apicrypt.wire import (
    RECIPIENTS_HEADER,
    armour,
    dearmour,
    mail,
    seal,
)
from conformance.core.apicrypt_mark import BEGIN, END, MODEL_HEADER, is_apicrypt
from conformance.core.vocabulary import MODEL_LABEL, Function
from conformance.errors import UserError
from conformance.mail.delivery import DeliveryError
from conformance.matrix.cast import Cast, exported_pki
from conformance.matrix.exchange import Observation, World, exchange
from conformance.pki.apicrypt_keys import KEY_FILE, issue_key, load_key, write_key
from conformance.pki.model import load_pki
from conformance.profiles.loader import load_profiles
from conformance.scenarios import basic_scenario, build_entity
from conformance.status import ErrorCode, Status

__all__ = ["software_keys"]

ENTITY = (
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xe8re,\r\nje vous adresse Mme D. pour avis.\r\n"
)
DATE = "Tue, 15 Jul 2025 10:00:00 +0200"


def _rng(n: int) -> bytes:
    return os.urandom(n)


@pytest.fixture(scope="module")
def export() -> Path:
    return exported_pki(load_pki())


@pytest.fixture(scope="module")
def users(export: Path) -> tuple[Path, Path, Path]:
    """Three identity directories: a sender, a recipient, a third party."""
    ids = [i.id for i in load_pki().valid_identities()][:3]
    return tuple(export / "identities" / i for i in ids)  # type: ignore[return-value]


def email_of(identity_dir: Path) -> str:
    return str(json.loads((identity_dir / "identity.json").read_text())["email"])


def sent(sender: Path, *recipients: Path, sign: bool = True, subject: str = "Avis") -> bytes:
    return apicrypt.send(
        ENTITY,
        identity_dir=sender,
        from_addr=email_of(sender),
        recipients=[email_of(r) for r in recipients],
        subject=subject,
        date=DATE,
        message_id="<1@osm-test.example>",
        sign=sign,
    )


def read(message: bytes, me: Path, reads: str = "full", **kw: bool) -> tuple[bytes | None, Status]:
    content, status = apicrypt.read(
        message,
        identity_dir=me,
        reads=reads,  # type: ignore[arg-type]
        holds_key=kw.get("holds_key", True),
        require_signature=kw.get("require_signature", False),
    )
    return content, status


# --- keys ---------------------------------------------------------------------------------


def test_keys_are_per_user_deterministic_and_distinct() -> None:
    a, b = issue_key("a@osm-test.example"), issue_key("b@osm-test.example")
    same = replace(issue_key("A@OSM-test.example"), owner=a.owner)  # case does not matter
    assert a == issue_key("a@osm-test.example") == same
    assert a.envelope_key != b.envelope_key and a.signing_seed != b.signing_seed
    assert len(a.envelope_key) == 32 and a.envelope_key != a.signing_seed


def test_export_holds_each_users_own_key_labelled_as_the_model(export: Path) -> None:
    for identity in load_pki().valid_identities():
        path = export / "identities" / identity.id / KEY_FILE
        data = json.loads(path.read_text())
        assert data["model"] == MODEL_LABEL and "NOT the real Apicrypt" in data["model"]
        assert load_key(path.parent) == issue_key(identity.email)


def test_key_file_round_trip_absent_and_broken(tmp_path: Path) -> None:
    assert load_key(tmp_path) is None, "no key issued: None, not an error"
    write_key(tmp_path, "x@osm-test.example")
    assert load_key(tmp_path) == issue_key("x@osm-test.example")
    (tmp_path / KEY_FILE).write_text('{"owner": "x", "envelope_key": "***"}')
    with pytest.raises(UserError, match=KEY_FILE):
        load_key(tmp_path)


# --- wire format --------------------------------------------------------------------------


def test_messages_say_they_are_the_model_and_go_to_the_relay(users: tuple[Path, ...]) -> None:
    a, b, _ = users
    message = sent(a, b)
    head = message.split(b"\r\n\r\n", 1)[0].decode()
    assert f"{MODEL_HEADER}: {MODEL_LABEL}" in head
    assert f"To: {RELAY_ADDRESS}" in head and f"{RECIPIENTS_HEADER}: {email_of(b)}" in head
    assert is_apicrypt(message) and addressed_to_relay(message)
    assert ENTITY not in message and b"confr" not in message, "the letter is encrypted"
    assert dearmour(message).key_owner == email_of(a), "encrypted with the sender's own key"


def test_smime_and_plain_mail_are_not_taken_for_the_model() -> None:
    assert not is_apicrypt(b"From: a@b\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n")
    assert not is_apicrypt(
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIAGCSqG\r\n"
    )


def test_a_letter_quoting_the_armour_is_not_the_model(users: tuple[Path, ...]) -> None:
    """Only the X-Apicrypt-Model field or a body that is the block makes a model mail: a
    signed S/MIME letter quoting the armour line was refused as the Apicrypt format."""
    quoted = b"Voici le bloc recu :\r\n" + BEGIN + b"\r\n(illisible)\r\n" + END + b"\r\n"
    smime = (
        b'From: a@b\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature";'
        b' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n' + quoted + b"--b--\r\n"
    )
    assert not is_apicrypt(smime)
    assert not is_apicrypt(b"From: a@b\r\nContent-Type: text/plain\r\n\r\n" + quoted)
    a, b, _ = users
    message = sent(a, b)
    dropped = message.replace(f"{MODEL_HEADER}: {MODEL_LABEL}\r\n".encode(), b"")
    assert MODEL_HEADER.encode() not in dropped and is_apicrypt(dropped)
    assert is_apicrypt(dropped.replace(b"\r\n", b"\n"))


def test_armour_round_trip() -> None:
    key = issue_key("a@osm-test.example")
    sealed = seal(key, b"Signature: none\r\nhello", _rng)
    assert (
        dearmour(
            mail(armour(sealed), from_addr="a", to=["b"], subject="s", date=DATE, message_id="<m>")
        )
        == sealed
    )


# --- the relay ----------------------------------------------------------------------------


def test_relay_re_encrypts_for_the_recipient_and_keeps_the_signature(
    users: tuple[Path, ...],
) -> None:
    a, b, _ = users
    message = sent(a, b)
    delivered = forward(message, email_of(b))
    assert dearmour(delivered).key_owner == email_of(b)
    assert dearmour(delivered).ciphertext != dearmour(message).ciphertext
    assert not addressed_to_relay(delivered)
    content, status = read(delivered, b)
    assert status.ok, status.errors
    assert content == ENTITY
    assert status.signature_valid is True
    assert status.services.as_set() == {
        "authentication",
        "integrity",
        "non_repudiation",
        "confidentiality",
    }


def test_without_the_relay_the_recipient_reads_nothing(users: tuple[Path, ...]) -> None:
    a, b, _ = users
    content, status = read(sent(a, b), b)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]


def test_the_relay_forwards_a_folded_subject_unfolded(users: tuple[Path, ...]) -> None:
    """A long non-ASCII subject is written as folded encoded words; the relay reads it
    back folded and must write it again as one value (a fold is no header injection)."""
    a, b, _ = users
    subject = "Compte rendu d'échographie abdominale — résultats complets " * 3
    message = sent(a, b, subject=subject)
    assert b"?=\r\n " in message.split(b"\r\n\r\n", 1)[0], "the subject is folded"
    delivered = forward(message, email_of(b))
    head = email.message_from_bytes(delivered, policy=email.policy.default)
    assert str(head["Subject"]) == subject


def test_the_relay_refuses_a_recipient_not_listed(users: tuple[Path, ...]) -> None:
    a, b, c = users
    message = sent(a, b)
    with pytest.raises(DeliveryError, match="not a recipient"):
        forward(message, email_of(c))
    # Nor may the listed recipient's copy be read by the third party.
    content, status = read(forward(message, email_of(b)), c)
    assert content is None and not status.ok


def test_the_relay_refuses_a_message_it_cannot_open(users: tuple[Path, ...]) -> None:
    a, b, _ = users
    forged = sent(a, b).replace(
        f"Key-Owner: {email_of(a)}".encode(), f"Key-Owner: {email_of(b)}".encode()
    )
    with pytest.raises(DeliveryError, match="refused"):
        forward(forged, email_of(b))


@pytest.fixture(scope="module")
def cast(software_keys: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    profiles = load_profiles()
    wanted = {i: p for i, p in profiles.items() if p.engine.type == "apicrypt-model"}
    wanted["easycrypt-net"] = profiles["easycrypt-net"]
    made = make_cast(wanted, tmp_path_factory.mktemp("apicrypt"))
    yield made
    made.close()


def _from_apicrypt(
    cast: Cast, function: Function, receiver: str, world: World | None = None
) -> Observation:
    """One exchange sent by the Apicrypt client; `world` defaults to the cast's, with the relay."""
    return exchange(
        basic_scenario(function),
        cast.seat("apimail-apicrypt", "sender"),
        cast.seat(receiver, "receiver"),
        cast.world() if world is None else world,
    )


def test_exchanges_without_the_relay_fail(cast: Cast) -> None:
    world = replace(cast.world(), transport=lambda message, to: message)
    for receiver in cast.profiles:
        obs = _from_apicrypt(cast, "encrypt", receiver, world)
        assert not obs.ok and (obs.reason or "").startswith("cannot-decrypt"), obs.reason
        # The same exchange through the relay works.
        assert _from_apicrypt(cast, "encrypt", receiver).ok


def test_a_relay_that_delivers_to_someone_else_is_a_bounce(cast: Cast) -> None:
    stranger = cast.world().bystanders[0].party.email

    def misdirect(message: bytes, to: str) -> bytes:
        return forward(message, stranger)

    world = replace(cast.world(), transport=misdirect)
    obs = _from_apicrypt(cast, "sign-encrypt", "apimail-apicrypt", world)
    assert not obs.ok and (obs.reason or "").startswith("not delivered"), obs.reason


# --- the signature and what each reader makes of it ------------------------------------------


def test_envelope_only_reader_opens_but_does_not_check(users: tuple[Path, ...]) -> None:
    a, b, _ = users
    delivered = forward(sent(a, b), email_of(b))
    content, status = read(delivered, b, reads="envelope-only")
    assert content == ENTITY and status.ok
    assert status.signed and status.signature_valid is None
    assert status.services.as_set() == {"confidentiality"}


def test_no_key_no_reading(users: tuple[Path, ...]) -> None:
    a, b, _ = users
    delivered = forward(sent(a, b), email_of(b))
    for reads in ("envelope-only", "full"):
        content, status = read(delivered, b, reads=reads, holds_key=False)
        assert content is None
        assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]


def test_unsigned_envelope_and_a_reader_that_requires_the_signature(
    users: tuple[Path, ...],
) -> None:
    a, b, _ = users
    delivered = forward(sent(a, b, sign=False), email_of(b))
    content, status = read(delivered, b)
    assert content == ENTITY and status.ok and not status.signed
    assert status.services.as_set() == {"confidentiality"}
    _, strict = read(delivered, b, require_signature=True)
    assert [e.code for e in strict.errors] == [ErrorCode.NO_SIGNATURE]


def test_a_signature_by_another_user_does_not_verify(users: tuple[Path, ...]) -> None:
    a, b, c = users
    other = issue_key(email_of(c)).signing_key()
    signed = email_of(a).lower().encode() + b"\0" + ENTITY
    forged = base64.b64encode(other.sign(signed)).decode()
    payload = f"Signature: {email_of(a)} {forged}\r\n".encode() + ENTITY
    block = armour(seal(issue_key(email_of(b)), payload, _rng))
    message = mail(
        block, from_addr=email_of(a), to=[email_of(b)], subject="s", date=DATE, message_id="<f@x>"
    )
    _, status = read(message, b)
    assert status.signature_valid is False
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]
    assert not status.services.integrity and not status.services.authentication
    # The envelope-only reader cannot tell: it holds confidentiality only, never more.
    _, blind = read(message, b, reads="envelope-only")
    assert blind.services.as_set() == {"confidentiality"}


def test_a_signer_other_than_the_author_does_not_authenticate(users: tuple[Path, ...]) -> None:
    """The Apicrypt signature names its signer: a mail whose From: is someone else (or
    ambiguous) keeps integrity but is not authenticated, as the S/MIME reader judges it."""
    a, b, c = users
    forged = apicrypt.send(
        ENTITY,
        identity_dir=c,
        from_addr=email_of(a),
        recipients=[email_of(b)],
        subject="Avis",
        date=DATE,
        message_id="<1@osm-test.example>",
        sign=True,
    )
    content, status = read(forward(forged, email_of(b)), b)
    assert content == ENTITY and status.signature_valid is True
    assert [e.code for e in status.errors] == [ErrorCode.SIGNER_MISMATCH]
    assert email_of(c) in status.errors[0].message
    assert status.services.as_set() == {"integrity", "confidentiality"}
    genuine = forward(sent(a, b), email_of(b))
    two = genuine.replace(b"\r\nFrom: ", f"\r\nFrom: {email_of(c)}\r\nFrom: ".encode(), 1)
    _, ambiguous = read(two, b)
    assert [e.code for e in ambiguous.errors] == [ErrorCode.SIGNER_MISMATCH]
    assert "2 From: fields" in ambiguous.errors[0].message
    assert not ambiguous.services.authentication and ambiguous.services.integrity


# --- tampering never passes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def delivered(users: tuple[Path, ...]) -> tuple[bytes, Path, bytes]:
    a, b, _ = users
    message = sent(a, b)
    return message, b, forward(message, email_of(b))


def _block_span(message: bytes) -> tuple[int, int]:
    start = message.index(BEGIN)
    return start, message.index(END) + len(END)


def _flip(message: bytes, where: float, mask: int) -> bytes:
    start, end = _block_span(message)
    i = start + int(where * (end - start - 1))
    return message[:i] + bytes([message[i] ^ mask]) + message[i + 1 :]


def test_a_broken_block_is_malformed_an_altered_one_cannot_be_decrypted(
    delivered: tuple[bytes, Path, bytes],
) -> None:
    _, me, message = delivered
    nonce = dearmour(message).nonce
    other = base64.b64encode(bytes([nonce[0] ^ 1]) + nonce[1:])
    cases = {
        b"Key-Owner:": (b"Kay-Owner:", ErrorCode.MALFORMED),  # a field missing
        b"Nonce: ": (b"Nonce: *", ErrorCode.MALFORMED),  # not base64
        END: (b"-----END NOTHING-----", ErrorCode.MALFORMED),  # no block
        b"Nonce: " + base64.b64encode(nonce): (b"Nonce: " + other, ErrorCode.CANNOT_DECRYPT),
    }
    for old, (new, code) in cases.items():
        assert old in message
        content, status = read(message.replace(old, new, 1), me)
        assert content is None
        assert [e.code for e in status.errors] == [code], (old, status.errors)


@pytest.mark.parametrize("size", [0, 3, 8, 16, 200])
def test_a_nonce_of_another_length_is_malformed_for_reader_and_relay(
    delivered: tuple[bytes, Path, bytes], size: int
) -> None:
    """AES-GCM raises ValueError on some nonce lengths: a classified answer, never a crash."""
    original, me, message = delivered
    nonce = base64.b64encode(bytes(size))
    mine = b"Nonce: " + base64.b64encode(dearmour(message).nonce)
    content, status = read(message.replace(mine, b"Nonce: " + nonce, 1), me)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.MALFORMED], status.errors
    assert f"Nonce is {size} bytes" in status.errors[0].message
    theirs = b"Nonce: " + base64.b64encode(dearmour(original).nonce)
    with pytest.raises(DeliveryError, match=f"Nonce is {size} bytes"):
        forward(original.replace(theirs, b"Nonce: " + nonce, 1), email_of(me))


@settings(max_examples=120, derandomize=True, deadline=None, database=None)
@given(where=st.floats(0, 1), mask=st.integers(1, 255))
def test_tampering_with_the_block_never_passes(
    delivered: tuple[bytes, Path, bytes], where: float, mask: int
) -> None:
    _, me, message = delivered
    content, status = read(_flip(message, where, mask), me)
    if status.ok:
        # Only a change that does not change the data (base64 line breaks, unused bits).
        assert content == ENTITY
        return
    codes = {e.code for e in status.errors}
    assert codes <= {ErrorCode.CANNOT_DECRYPT, ErrorCode.MALFORMED}, status.errors
    assert content is None


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(where=st.floats(0, 1), mask=st.integers(1, 255))
def test_tampering_before_the_relay_is_refused_or_harmless(
    delivered: tuple[bytes, Path, bytes], where: float, mask: int
) -> None:
    original, me, _ = delivered
    try:
        relayed = forward(_flip(original, where, mask), email_of(me))
    except DeliveryError:
        return
    content, status = read(relayed, me)
    assert status.ok and content == ENTITY, status.errors


def test_tampered_messages_in_a_whole_exchange_are_never_a_pass(cast: Cast) -> None:
    entity = build_entity(basic_scenario("encrypt"))
    for mask_at in (0.1, 0.5, 0.9):

        def tamper(message: bytes, to: str, at: float = mask_at) -> bytes:
            return _flip(forward(message, to), at, 0x01)

        world = replace(cast.world(), transport=tamper)
        obs = _from_apicrypt(cast, "encrypt", "easycrypt-net", world)
        assert not obs.ok or (obs.reception is not None and obs.reception.content == entity)
        if not obs.ok:
            assert (obs.reason or "").split(":")[0] in ("cannot-decrypt", "malformed"), obs.reason
