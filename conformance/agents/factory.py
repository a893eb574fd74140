"""From a profile to a running agent: the one place that maps `engine.type` to code."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from conformance.agents.base import Agent, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.command import CommandAgent
from conformance.agents.profiled import ProfileAgent
from conformance.agents.recipients import refusal
from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import Capabilities, CertificateSource
from conformance.profiles.schema import Profile
from conformance.smime.options import Limits


@dataclass
class _Named:
    """A real engine under its profile's id, doing the functions its profile declares."""

    inner: Agent
    id: str
    caps: Capabilities
    recipient_certificate: CertificateSource = "manual"

    def capabilities(self) -> Capabilities:
        return self.caps

    def version(self) -> str:
        return self.inner.version()

    def send(self, request: SendRequest) -> SendResult:
        refused = refusal(request, self.id, self.recipient_certificate)
        return refused if refused is not None else self.inner.send(request)

    def receive(self, request: ReceiveRequest) -> Reception:
        return self.inner.receive(request)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def make_agent(
    profile: Profile,
    *,
    workdir: Path | None = None,
    rng: Callable[[int], bytes] = os.urandom,
    validation_time: datetime | None = None,
    policy: str = DEFAULT_POLICY,
    limits: Limits | None = None,
) -> Agent:
    """The agent a profile describes. Raises MissingComponent when its tool is absent.

    `policy` and `limits` apply to the profile-driven receivers only: a real engine or
    an adapter is measured as it is, never given a check of the harness's."""
    engine = profile.engine
    caps = profile.capabilities()
    if engine.type in ("builtin", "apicrypt-model"):
        return ProfileAgent(
            profile, rng=rng, validation_time=validation_time, policy=policy, limits=limits
        )
    if engine.type == "command":
        assert engine.argv is not None  # the schema requires argv for command engines
        # Relative paths in argv are taken from where the user runs the suite, since
        # each call runs in a temporary directory of its own.
        argv = [
            str(Path(a).resolve()) if "/" in a and not Path(a).is_absolute() else a
            for a in engine.argv
        ]
        return CommandAgent(profile.id, argv, caps, timeout=engine.timeout_s)
    sub = workdir / profile.id if workdir is not None else None
    options = profile.send_options()
    inner: Agent
    if engine.type == "openssl":
        from conformance.agents.openssl import OpenSSLAgent

        inner = OpenSSLAgent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "nss":
        from conformance.agents.nss import NssAgent

        inner = NssAgent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "gpgsm":
        from conformance.agents.gpgsm import GpgsmAgent

        inner = GpgsmAgent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "go-pkcs7":
        from conformance.agents.go_pkcs7 import GoPkcs7Agent

        inner = GoPkcs7Agent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "gnutls":
        from conformance.agents.gnutls import GnutlsAgent

        inner = GnutlsAgent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "pkijs":
        from conformance.agents.pkijs import PkijsAgent

        inner = PkijsAgent(options, sub, timeout=engine.timeout_s)
    elif engine.type == "bouncycastle":
        from conformance.agents.bouncycastle import BouncyCastleAgent

        inner = BouncyCastleAgent(options, sub, timeout=engine.timeout_s)
    else:  # pragma: no cover - the schema's enumeration is exhaustive
        raise ValueError(f"unknown engine type {engine.type!r}")
    return _Named(inner, profile.id, caps, profile.send.recipient_certificate)


def close_agent(agent: Agent) -> None:
    close = getattr(agent, "close", None)
    if close is not None:
        close()
