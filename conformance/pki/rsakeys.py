"""Deterministic RSA key generation from the PKI seed.

Why hand-written: no maintained library generates RSA keys from a seed
(cryptography and OpenSSL draw from the system RNG), yet the committed test
PKI must be reproducible byte for byte. So the primes are drawn from
`HashStream` (SHA-256 in counter mode over seed + label), sieved by trial
division with small primes and proven probable primes with Miller-Rabin
(witnesses also drawn from the stream); the key itself is then assembled by
cryptography's RSAPrivateNumbers (the PKI tests load the committed keys
with OpenSSL's full key check).

The Miller-Rabin exponentiations go through gmpy2 (a dependency), about 10x
faster than `pow`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import gmpy2  # type: ignore[import-not-found,import-untyped,unused-ignore]
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.pki.drbg import HashStream

PUBLIC_EXPONENT = 65537


def _small_primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(limit) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return [i for i, flag in enumerate(sieve) if flag]


_SMALL_PRIMES = _small_primes(4096)
_PRIMORIAL = math.prod(_SMALL_PRIMES)


def _miller_rabin_rounds(bits: int) -> int:
    """Rounds for an error below 2**-100 on random candidates.

    FIPS 186-5 Table B.1 asks 4 rounds (1024-bit primes of RSA-2048) to 6
    (512-bit ones); 8 is a generous margin that costs little.
    """
    return 8 if bits >= 512 else 16


def is_probable_prime(n: int, stream: HashStream, rounds: int) -> bool:
    if n < 2:
        return False
    for p in _SMALL_PRIMES[:64]:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = 2 + stream.randbelow(n - 3)
        x = int(gmpy2.powmod(a, d, n))
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def generate_prime(stream: HashStream, bits: int) -> int:
    """A prime of exactly `bits` bits with its two top bits set, p-1 prime to e."""
    rounds = _miller_rabin_rounds(bits)
    while True:
        candidate = stream.randbits(bits) | (0b11 << (bits - 2)) | 1
        if math.gcd(candidate, _PRIMORIAL) != 1:
            continue
        if math.gcd(candidate - 1, PUBLIC_EXPONENT) != 1:
            continue
        if is_probable_prime(candidate, stream, rounds):
            return candidate


def derive_rsa_primes(seed: int, label: str, bits: int = 2048) -> tuple[int, int]:
    """The primes (p > q) of the RSA key of `label` (for example "pro01/sign") under `seed`."""
    if bits < 512 or bits % 2:
        raise ValueError(f"unsupported RSA key size {bits}")
    stream = HashStream(seed, "rsa/" + label)
    half = bits // 2
    while True:
        p = generate_prime(stream, half)
        q = generate_prime(stream, half)
        # FIPS 186-5 A.1.3: |p - q| > 2**(nlen/2 - 100).
        if abs(p - q) > 1 << (half - 100):
            return max(p, q), min(p, q)


def rsa_key_from_primes(p: int, q: int) -> rsa.RSAPrivateKey:
    n = p * q
    d = pow(PUBLIC_EXPONENT, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, n),
    )
    # OpenSSL's own check (RSA_check_key) would re-test both primes and cost
    # more than generating them; the PKI tests run it on the committed keys.
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def derive_rsa_key(seed: int, label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The RSA key of `label` (for example "pro01/sign") under `seed`."""
    return rsa_key_from_primes(*derive_rsa_primes(seed, label, bits))


def _primes_job(job: tuple[int, str, int]) -> tuple[int, int]:
    return derive_rsa_primes(*job)


def derive_rsa_keys(
    seed: int, wanted: Sequence[tuple[str, int]], workers: int | None = None
) -> dict[str, rsa.RSAPrivateKey]:
    """Many keys at once, (label, bits) each, on all cores: each key depends on its label only."""
    jobs = [(seed, label, bits) for label, bits in wanted]
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(jobs) < 8:
        primes = [_primes_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            primes = list(pool.map(_primes_job, jobs, chunksize=4))
    return {
        label: rsa_key_from_primes(p, q) for (label, _), (p, q) in zip(wanted, primes, strict=True)
    }
