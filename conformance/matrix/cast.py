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
from conformance.loopback import ServerNotStarted
from conformance.mail.store import MailStore
from conformance.matrix.exchange import Addressee, Seat, Transport, World, through_relay
from conformance.matrix.mailstores import missing_hop, open_store
from conformance.matrix.routes import PLAIN, Route
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
    # `run --transport smtp`: each route (its hops, () the plain one) opened at its first
    # cell, closed with the cast; one store for the whole run's mail (routes.py).
    transport: str = "memory"
    max_message_bytes: int | None = None
    _store: MailStore | None = None
    _routes: dict[Route, Transport] = field(default_factory=dict)
    # A server there but not started (the store, every route's end; a hop, by its id): said
    # again to every later cell that needs it, never started again in this worker. The
    # store's is public: a cell tells by it the mailbox's failure from a hop's.
    store_not_started: ServerNotStarted | None = field(default=None, init=False)
    _hops_not_started: dict[str, ServerNotStarted] = field(default_factory=dict)
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

    def world(self, directory: bool = False, route: Route = PLAIN, memory: bool = False) -> World:
        """The shared world; with `directory`, the CPS directory too (this process's own
        slapd, loaded from the test PKI and started at the first cell that needs it); over
        SMTP, carried by `route` (opened at its first cell) unless `memory` (the rejection
        matrix, which stays on the memory transport)."""
        if self._world is None:
            self._world = self._make_world()
        world = self._world
        if directory:
            if self._directory is None:
                self._directory = self._with_directory(self._world)
            world = self._directory
        if self.transport != "smtp" or memory:
            return world
        return replace(world, transport=self._route(route))

    def _with_directory(self, world: World) -> World:
        """`world` with this process's slapd, or with why there is none: not installed, or
        there but not started (its one-line reason), the same for the cells."""
        missing = slapd.missing()
        if missing is None:
            try:
                served = self._stack.enter_context(slapd.serve(build_tree(self.pki)))
            except ServerNotStarted as exc:
                missing = str(exc)
            else:
                return replace(world, directory=served.url)
        return replace(world, directory_missing=missing)

    def route_missing(self, route: Route) -> str | None:
        """Why a route cannot run here (a hop whose software is missing), else None."""
        return missing_hop(route)

    def _route(self, route: Route) -> Transport:
        """The route's transport: the Apicrypt model relay first for a message addressed to
        it (the relay forwards to each recipient), then real SMTP through the route's hops
        to the store, as a sender's mail leaves through its relay onto the road.
        ServerNotStarted when a server of the route is there but did not start (now, or
        at an earlier cell: each server is tried once)."""
        if route not in self._routes:
            from conformance.mail.endpoint import HopSettings
            from conformance.mail.route import open_route

            store = self._open_store()
            failed = next(
                (self._hops_not_started[h] for h in route if h in self._hops_not_started), None
            )
            if failed is not None:
                raise failed.with_traceback(None)
            try:
                opened = self._stack.enter_context(
                    open_route(route, store, HopSettings(self.max_message_bytes))
                )
            except ServerNotStarted as exc:  # a real server among the hops (postfix: its id)
                self._hops_not_started[exc.server] = exc
                raise
            self._routes[route] = through_relay(opened.transport)
        return self._routes[route]

    def _open_store(self) -> MailStore:
        """The worker's store, opened at the first cell over SMTP; the same
        ServerNotStarted for every later cell when it did not start (not tried again)."""
        if self.store_not_started is not None:
            raise self.store_not_started.with_traceback(None)
        if self._store is None:
            try:
                self._store = self._stack.enter_context(open_store(self.pki, self._mail_dir()))
            except ServerNotStarted as exc:
                self.store_not_started = exc
                raise
        return self._store

    def _mail_dir(self) -> Path:
        base = self.workdir if self.workdir is not None else cache_dir()
        found = base / "mail"
        found.mkdir(parents=True, exist_ok=True)
        return found

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
        self._routes.clear()
        self._store = None
        self._stack.close()  # stops the slapd, the routes' hops and the store, if started
