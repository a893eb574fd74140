"""From a profile to a running agent: the one place that maps `engine.type` to code."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from conformance.agents.base import Agent, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.command import CommandAgent
from conformance.agents.profiled import ProfileAgent
from conformance.agents.recipients import refusal
from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import Capabilities
from conformance.profiles.schema import KEY_STORE_ENGINES, PROFILE_DRIVEN_ENGINES, Profile
from conformance.smime.options import Limits


@dataclass
class _Named:
    """A real engine under its profile's id, doing the functions its profile declares. The
    profile is also what a verdict may rest on (matrix.cell.rests_on): the choices the
    harness makes for the engine (an algorithm it sends) are assumed where it says so."""

    inner: Agent
    profile: Profile
    id: str = field(init=False)
    caps: Capabilities = field(init=False)

    def __post_init__(self) -> None:
        self.id, self.caps = self.profile.id, self.profile.capabilities()

    def capabilities(self) -> Capabilities:
        return self.caps

    def version(self) -> str:
        return self.inner.version()

    def send(self, request: SendRequest) -> SendResult:
        refused = refusal(request, self.id, self.profile.send.recipient_certificate)
        return refused if refused is not None else self.inner.send(request)

    def receive(self, request: ReceiveRequest) -> Reception:
        return self.inner.receive(request)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


# A real engine's agent class by `engine.type` (module, class): every one is built from
# the profile's send options, a working directory and the tool's timeout.
_REAL_ENGINES: dict[str, tuple[str, str]] = {
    "openssl": ("conformance.agents.openssl", "OpenSSLAgent"),
    "nss": ("conformance.agents.nss", "NssAgent"),
    "gpgsm": ("conformance.agents.gpgsm", "GpgsmAgent"),
    "go-pkcs7": ("conformance.agents.go_pkcs7", "GoPkcs7Agent"),
    "gnutls": ("conformance.agents.gnutls", "GnutlsAgent"),
    "pkijs": ("conformance.agents.pkijs", "PkijsAgent"),
    "bouncycastle": ("conformance.agents.bouncycastle", "BouncyCastleAgent"),
}


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
    if engine.type in PROFILE_DRIVEN_ENGINES:
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
    module, name = _REAL_ENGINES[engine.type]
    kind = getattr(importlib.import_module(module), name)  # imported only when used
    # Where the keys are, for the real engines that can hold them either way (gpgsm).
    keys = {"keys": engine.keys} if engine.type in KEY_STORE_ENGINES else {}
    inner: Agent = kind(options, sub, timeout=engine.timeout_s, **keys)
    return _Named(inner, profile)


def close_agent(agent: Agent) -> None:
    close = getattr(agent, "close", None)
    if close is not None:
        close()
