"""Who plays in a run: the agents, the professionals who use them, the shared world.

Each agent gets two professionals of the test PKI (one sends, one receives,
so that an agent also talks to itself across two users); the next two valid
identities after them are bystanders, the extra recipients of "several
recipients" scenarios. Built once per process (each pytest-xdist worker has
its own agents, NSS databases, GnuPG homes and token directory).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance.agents import identity_files as files
from conformance.agents.base import Agent
from conformance.agents.factory import close_agent, make_agent
from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import Party
from conformance.directory import slapd
from conformance.directory.tree import build_tree
from conformance.matrix.exchange import Addressee, Seat, World
from conformance.paths import cache_dir
from conformance.pki.export import export_pki
from conformance.pki.model import TestPKI, load_pki
from conformance.profiles.schema import Profile


def directories_of(profile: Profile) -> frozenset[str]:
    """The directories a product's users are listed in, from what the product reads."""
    found = set()
    if profile.receive.smime is not None:
        found.add("cps")
    apicrypt = profile.receive.apicrypt
    if apicrypt.reads != "none" and apicrypt.holds_key:
        found.add("apicrypt")
    return frozenset(found)


def exported_pki(pki: TestPKI) -> Path:
    """The PKI in the export layout (PKCS#12 and Apicrypt-model keys included), cached."""
    stamp = hashlib.sha256()
    for path in sorted(pki.directory.rglob("*")):
        if path.is_file():
            stamp.update(str(path.relative_to(pki.directory)).encode())
            stamp.update(str(path.stat().st_mtime_ns).encode())
    target = cache_dir() / "pki-export" / stamp.hexdigest()[:16]
    if not (target / ".complete").exists():
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        export_pki(pki, tmp)  # PKCS#12 files and Apicrypt-model keys included
        (tmp / ".complete").write_text("ok\n")
        try:
            tmp.rename(target)
        except OSError:  # another worker won the race: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass
class Cast:
    profiles: dict[str, Profile]
    pki: TestPKI = field(default_factory=load_pki)
    workdir: Path | None = None
    policy: str = DEFAULT_POLICY
    _agents: dict[str, Agent] = field(default_factory=dict)
    _export: Path | None = None
    _world: World | None = None
    _directory: World | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def export(self) -> Path:
        if self._export is None:
            self._export = exported_pki(self.pki)
        return self._export

    def users(self, agent_id: str) -> tuple[str, str]:
        ids = sorted(self.profiles)
        valid = [i.id for i in self.pki.valid_identities()]
        index = ids.index(agent_id)
        pairs = max(1, (len(valid) - 2) // 2)  # keep two bystanders
        k = (index % pairs) * 2
        return valid[k], valid[k + 1]

    def party(self, identity_id: str, profile: Profile) -> Party:
        directory = self.export / "identities" / identity_id
        data = files.identity_json(directory)
        return Party(directory, str(data["email"]), str(data["name"]), directories_of(profile))

    def agent(self, agent_id: str) -> Agent:
        if agent_id not in self._agents:
            self._agents[agent_id] = make_agent(
                self.profiles[agent_id], workdir=self.workdir, policy=self.policy
            )
        return self._agents[agent_id]

    def seat(self, agent_id: str, role: str) -> Seat:
        sender_id, receiver_id = self.users(agent_id)
        identity_id = sender_id if role == "sender" else receiver_id
        party = self.party(identity_id, self.profiles[agent_id])
        cert = files.role_certificate(party.identity_dir, "encrypt")
        return Seat(party, cert, self.agent(agent_id))

    def world(self, directory: bool = False) -> World:
        """The shared world; with `directory`, the CPS directory too (this process's own
        slapd, loaded from the test PKI and started at the first cell that needs it)."""
        if self._world is None:
            self._world = self._make_world()
        if not directory:
            return self._world
        if self._directory is None:
            missing = slapd.missing()
            if missing is not None:
                self._directory = replace(self._world, directory_missing=missing)
            else:
                served = self._stack.enter_context(slapd.serve(build_tree(self.pki)))
                self._directory = replace(self._world, directory=served.url)
        return self._directory

    def _make_world(self) -> World:
        valid = [i.id for i in self.pki.valid_identities()]
        bystanders = []
        for identity_id in valid[-2:]:
            directory = self.export / "identities" / identity_id
            data = files.identity_json(directory)
            listed = frozenset({"cps", "apicrypt"})  # exchange() lists them as its receiver
            party = Party(directory, str(data["email"]), str(data["name"]), listed)
            cert = files.role_certificate(directory, "encrypt")
            bystanders.append(Addressee(party, cert))
        ca = self.export / "ca"
        return World(
            trust=(ca / "root.pem",),
            crls=(ca / "root.crl.pem", ca / "intermediate.crl.pem"),
            bystanders=tuple(bystanders),
            policy=self.policy,
        )

    def close(self) -> None:
        for agent in self._agents.values():
            close_agent(agent)
        self._agents.clear()
        self._stack.close()  # stops the slapd, if one was started
