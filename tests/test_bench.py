"""The benchmark's parts: reading `openssl speed` and one timed exchange (no timing asserted)."""

from __future__ import annotations

from conformance import bench
from conformance.pki.model import load_pki

OPENSSL_30 = """\
version: 3.0.19
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.001116s 0.000036s    896.0  27473.4
"""
OPENSSL_32 = """\
                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s
rsa   2048 bits 0.000634s 0.000018s 0.000019s 0.000632s   1577.7  54711.1  52049.2   1582.1
"""


def test_parse_openssl_speed() -> None:
    assert bench.parse_openssl_speed(OPENSSL_30) == 896.0
    assert bench.parse_openssl_speed(OPENSSL_32) == 1577.7
    assert bench.parse_openssl_speed("rsa 2048 bits 0.1s\n") is None
    assert bench.parse_openssl_speed("") is None


def test_letter_size() -> None:
    content = bench.letter(10_000)
    assert 9_000 < len(content) <= 10_000
    assert content.startswith(b"Content-Type: text/plain; charset=utf-8\n")


def test_one_measured_exchange_round_trips_and_times_its_phases() -> None:
    pki = load_pki()
    signer, decryptor = bench._software_keys(pki)
    exchange = bench.Exchange(
        pki,
        bench.letter(2_000),
        signer,
        decryptor,
        pki.identities["pro01"],
        pki.identities["pro02"],
    )
    timings = bench.measure(exchange, 0.0)
    assert timings.count == 3
    assert timings.build > 0 and timings.read > 0
    assert 0 < timings.chain < timings.read  # validation was timed inside the read side
