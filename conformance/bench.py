"""Speed of the engine: in-process exchanges per second beside OpenSSL's raw RSA speed.

One exchange is a 10 kB letter signed, encrypted, decrypted and verified with
chain validation (pro01 -> pro02 of the test PKI), through the engine's own
entry points (`build_message`, `read_message`). It costs two RSA private-key
operations (sign, decrypt), so `openssl speed rsa2048` signs per second
divided by two is the bound no implementation can pass on this machine; the
ratio to it says how much the MIME, CMS and validation work adds. Plain
figures, no verdict: timings depend on the machine and its load. Two versions
of the code are compared by `conformance.bench_compare` (alternating runs).

    .venv/bin/python -m conformance.bench [--seconds S] [--size BYTES] [--no-softhsm]
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conformance.pki.model import Identity, TestPKI, load_pki
from conformance.smime import receive, validate
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import EncryptOptions, ReceiveOptions, SendOptions
from conformance.status import Status
from conformance.token.base import PrivateKeyHandle
from conformance.token.software import SoftwareKey

SENDER = "pro01"
RECEIVER = "pro02"
_PARAGRAPH = (
    "Cher confrère, je vous adresse les résultats du bilan de Mme Dupont : "
    "hémoglobine 13,2 g/dl, plaquettes 250 000/mm³, créatinine 78 µmol/l. "
    "L'échographie de contrôle est prévue à trois mois. Bien à vous.\n"
)


def letter(size: int) -> bytes:
    """A text/plain MIME entity of about `size` bytes of French text (8-bit, UTF-8)."""
    head = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    line = _PARAGRAPH.encode()
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def path_bomb(pki: TestPKI, k: int, levels: int) -> list[x509.Certificate]:
    """`k` look-alike CA certificates at each of `levels` levels above SENDER's signature
    certificate (the issue 15 attack): the first level bears the name and key identifier of
    the real intermediate, the last is issued in the root's name, and each level's
    certificates name the next level's key, so that a path builder sees k^levels paths to
    the root. The keys are the attacker's: no look-alike is signed by a key of the PKI."""
    genuine = pki.intermediates()[0]
    start = genuine.not_valid_before_utc
    end = genuine.not_valid_after_utc
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=1024) for _ in range(levels)]
    ids = [x509.SubjectKeyIdentifier.from_public_key(key.public_key()) for key in keys]
    names = [genuine.subject] + [
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Look-alike CA level {n}")])
        for n in range(2, levels + 1)
    ]
    root_id = pki.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    own_id = genuine.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificates = []
    for level in range(levels):
        top = level == levels - 1
        issuer_name = pki.root.subject if top else names[level + 1]
        issuer_id = root_id if top else ids[level + 1]
        signing_key = keys[(level + 1) % levels]
        for n in range(k):
            builder = (
                x509.CertificateBuilder()
                .subject_name(names[level])
                .issuer_name(issuer_name)
                .public_key(keys[level].public_key())
                .serial_number(1000 * (level + 1) + n)
                .not_valid_before(start)
                .not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(own_id if level == 0 else ids[level], critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_id),
                    critical=False,
                )
            )
            certificates.append(builder.sign(signing_key, hashes.SHA256()))
    return certificates


def bomb_message(pki: TestPKI, signer: PrivateKeyHandle, k: int, levels: int) -> bytes:
    """A message genuinely signed by SENDER that carries `path_bomb(pki, k, levels)` before
    the real intermediate (multipart/signed, the chain in the SignedData)."""
    sender = pki.identities[SENDER]
    headers = Headers(from_addr=sender.email, to=[pki.identities[RECEIVER].email], subject="x")
    chain = [*path_bomb(pki, k, levels), *pki.intermediates()]
    return build_message(letter(2_000), "sign", SendOptions(), signer, chain, (), headers)


def path_bomb_ms(pki: TestPKI, message: bytes) -> tuple[float, Status]:
    """The time to read `message` (a `bomb_message`), the chain cache cleared first."""
    validate.clear_cache()
    start = time.perf_counter()
    _, status = receive.read_message(
        message, keys=(), trust=(pki.root,), crls=pki.crls, directory=None,
        options=ReceiveOptions(),
    )  # fmt: skip
    return (time.perf_counter() - start) * 1000, status


@dataclass
class Timings:
    """Seconds spent, summed over `count` exchanges."""

    count: int = 0
    build: float = 0.0
    read: float = 0.0
    chain: float = 0.0

    def per_exchange_ms(self, value: float) -> float:
        return value / self.count * 1000 if self.count else 0.0


@contextmanager
def _timed_validation(timings: Timings) -> Iterator[None]:
    """Add the time spent in `validate_signer`, as called by the read side, to `timings`."""
    original = validate.validate_signer  # what the read side imported by name

    def timed(*args: Any, **kwargs: Any) -> validate.ChainResult:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.chain += time.perf_counter() - start

    with mock.patch("conformance.smime.receive.validate_signer", timed):
        yield


@dataclass(frozen=True)
class _Parties:
    intermediates: tuple[x509.Certificate, ...]
    recipients: tuple[x509.Certificate, ...]
    self_certificate: x509.Certificate
    trust: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    headers: Headers
    receive: ReceiveOptions


@dataclass(frozen=True)
class Exchange:
    """Everything one exchange needs, prepared once."""

    pki: TestPKI
    content: bytes
    signer: PrivateKeyHandle
    decryptor: PrivateKeyHandle
    sender: Identity
    receiver: Identity
    options: SendOptions = SendOptions()  # noqa: RUF009 (frozen dataclass)

    @functools.cached_property
    def parts(self) -> _Parties:
        """What an agent holds between messages, looked up once (at the warm-up): the
        PKI's lookups stat the files each time, the caller's cost, not the engine's."""
        return _Parties(
            intermediates=tuple(self.pki.intermediates()),
            recipients=(self.receiver.certificate("encrypt"),),
            self_certificate=self.sender.certificate("encrypt"),
            trust=(self.pki.root,),
            crls=tuple(self.pki.crls),
            headers=Headers(
                from_addr=self.sender.email,
                to=[self.receiver.email],
                subject="Résultats de laboratoire",
                from_name=self.sender.name,
            ),
            receive=ReceiveOptions(),
        )

    def run(self, timings: Timings) -> None:
        """One exchange, timed by phase; raises RuntimeError when it does not round-trip."""
        parts = self.parts
        start = time.perf_counter()
        message = build_message(
            self.content,
            "sign-encrypt",
            self.options,
            self.signer,
            parts.intermediates,
            parts.recipients,
            parts.headers,
            self_certificate=parts.self_certificate,
        )
        middle = time.perf_counter()
        content, status = receive.read_message(
            message,
            keys=[self.decryptor],
            trust=parts.trust,
            crls=parts.crls,
            directory=None,
            options=parts.receive,
        )
        end = time.perf_counter()
        timings.count += 1
        timings.build += middle - start
        timings.read += end - middle
        if status.errors or not status.signature_valid or not status.chain_valid:
            problems = "; ".join(f"{e.code}: {e.message}" for e in status.errors)
            raise RuntimeError(f"the exchange did not verify: {problems or status}")
        if content is None or b"plaquettes 250" not in content:
            raise RuntimeError("the exchange did not give the letter back")


def measure(exchange: Exchange, seconds: float, cold_chain: bool = False) -> Timings:
    """Exchanges for about `seconds` after a warm-up; `cold_chain` empties the chain cache."""
    exchange.run(Timings())
    timings = Timings()
    deadline = time.perf_counter() + seconds
    with _timed_validation(timings):
        while time.perf_counter() < deadline or timings.count < 3:
            if cold_chain:
                validate.clear_cache()
            exchange.run(timings)
    return timings


def validator_ms(exchange: Exchange, seconds: float) -> float:
    """Milliseconds per `run_checks` of the exchange's message, as the receiver checks it
    (the matrix runs the validator on each cell's basic message and counterexample)."""
    from conformance.check import run_checks

    parts = exchange.parts
    message = build_message(
        exchange.content,
        "sign-encrypt",
        exchange.options,
        exchange.signer,
        parts.intermediates,
        parts.recipients,
        parts.headers,
        self_certificate=parts.self_certificate,
    )

    def once() -> None:
        run_checks(
            message,
            identity_dir=exchange.receiver.directory,
            trust=exchange.pki.trust_paths(),
            crls=exchange.pki.crl_paths(),
        )

    once()  # warm the caches (keys, chain verdicts), as in a run
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        once()
        count += 1
    return (time.perf_counter() - start) / count * 1000


def openssl_rsa_signs(seconds: int) -> float | None:
    """`openssl speed -seconds N rsa2048` sign/s, or None when openssl is missing or unreadable."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    done = subprocess.run(
        [openssl, "speed", "-seconds", str(seconds), "rsa2048"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return parse_openssl_speed(done.stdout)


def parse_openssl_speed(output: str) -> float | None:
    """The sign/s column of the `rsa 2048 bits` line, whatever other columns there are."""
    header: list[str] | None = None
    for line in output.splitlines():
        words = line.split()
        if "sign/s" in words:
            header = words
        elif header is not None and re.match(r"\s*rsa\s+2048\s+bits?\b", line):
            values = re.split(r"\s+", line.split("bits", 1)[1].strip())
            if len(values) == len(header):
                return float(values[header.index("sign/s")])
    return None


def _software_keys(pki: TestPKI) -> tuple[PrivateKeyHandle, PrivateKeyHandle]:
    sender, receiver = pki.identities[SENDER], pki.identities[RECEIVER]
    signer = SoftwareKey(sender.private_key("sign"), sender.certificate("sign"), f"{SENDER}-sign")
    decryptor = SoftwareKey(
        receiver.private_key("encrypt"), receiver.certificate("encrypt"), f"{RECEIVER}-encrypt"
    )
    return signer, decryptor


def exchange_ms(seconds: float, *, softhsm: bool = False, size: int = 10_000) -> float | None:
    """Milliseconds per exchange with software keys (or the keys on SoftHSM, None when it
    is not installed), as `make bench` reports it: the matrix benchmark's yardsticks,
    measured in its own process."""
    pki = load_pki()
    keys = _softhsm_keys(pki) if softhsm else _software_keys(pki)
    if isinstance(keys, str):
        return None
    signer, decryptor = keys
    sender, receiver = pki.identities[SENDER], pki.identities[RECEIVER]
    options = _SOFTHSM_OPTIONS if softhsm else SendOptions()
    exchange = Exchange(pki, letter(size), signer, decryptor, sender, receiver, options)
    timings = measure(exchange, seconds)
    return timings.per_exchange_ms(timings.build + timings.read)


# SoftHSM 2.6 has OAEP with SHA-1 only (CKR_ARGUMENTS_BAD for SHA-256).
_SOFTHSM_OPTIONS = SendOptions(encrypt=EncryptOptions(key_transport="rsa-oaep-sha1"))


def _softhsm_keys(pki: TestPKI) -> tuple[PrivateKeyHandle, PrivateKeyHandle] | str:
    """The same keys on SoftHSM, or why not (not installed)."""
    from conformance.token import open_key, softhsm

    if not softhsm.available():
        return "SoftHSM is not installed"
    saved = os.environ.pop("OSM_CONFORMANCE_TOKEN", None)
    try:
        signer = open_key(pki.identities[SENDER].directory, "sign")
        decryptor = open_key(pki.identities[RECEIVER].directory, "encrypt")
    finally:
        if saved is not None:
            os.environ["OSM_CONFORMANCE_TOKEN"] = saved
    return signer, decryptor


def _report(name: str, timings: Timings, bound: float | None, out: Callable[[str], None]) -> None:
    rate = timings.count / (timings.build + timings.read)
    ratio = f"  ({rate / bound:.2f} of the RSA bound)" if bound else ""
    out(f"{name}: {rate:8.1f} exchanges/s{ratio}   [{timings.count} exchanges]")
    out(
        f"    ms per exchange: build {timings.per_exchange_ms(timings.build):.2f}, "
        f"read {timings.per_exchange_ms(timings.read):.2f} "
        f"(of which chain validation {timings.per_exchange_ms(timings.chain):.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.bench",
        description="In-process S/MIME exchanges per second, beside openssl speed rsa2048.",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--size", type=int, default=10_000, help="letter size in bytes")
    parser.add_argument("--no-softhsm", action="store_true", help="skip the SoftHSM measurement")
    args = parser.parse_args(argv)
    out = print

    pki = load_pki()
    content = letter(args.size)
    sender, receiver = pki.identities[SENDER], pki.identities[RECEIVER]
    signs = openssl_rsa_signs(2)
    bound = signs / 2 if signs else None
    out(f"letter: {len(content)} bytes, sign-encrypt then decrypt-verify, {SENDER} -> {RECEIVER}")
    if signs:
        out(f"openssl speed rsa2048: {signs:.1f} sign/s -> RSA bound {bound:.1f} exchanges/s")
    else:
        out("openssl speed rsa2048: not available (no ratio to the RSA bound)")

    signer, decryptor = _software_keys(pki)
    software = Exchange(pki, content, signer, decryptor, sender, receiver)
    _report("software keys", measure(software, args.seconds), bound, out)
    cold = measure(software, min(args.seconds, 1.0), cold_chain=True)
    out(
        f"    chain validation without its cache: {cold.per_exchange_ms(cold.chain):.2f} ms "
        f"(exchange {cold.per_exchange_ms(cold.build + cold.read):.2f} ms)"
    )
    out(f"validator (osm-conformance check) on that message: {validator_ms(software, 1.0):.1f} ms")
    bomb = bomb_message(pki, signer, 7, 7)
    bomb_ms, status = path_bomb_ms(pki, bomb)
    verdict = ", ".join(e.code for e in status.errors) or "accepted"
    out(f"path bomb k=L=7: {bomb_ms:.0f} ms ({len(bomb) // 1000} kB message, {verdict})")
    if not args.no_softhsm:
        keys = _softhsm_keys(pki)
        if isinstance(keys, str):
            out(f"SoftHSM: skipped ({keys})")
        else:
            hsm = Exchange(pki, content, keys[0], keys[1], sender, receiver, _SOFTHSM_OPTIONS)
            _report("SoftHSM keys (RSA-OAEP SHA-1)", measure(hsm, args.seconds), bound, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
