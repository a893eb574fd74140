"""Evidence files of a cell: the messages as .eml, what the receiver said, the counterexample.

Paths are recorded relative to the run's output directory, so the report
(written beside results.json) can link them and the directory can be moved.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.agents.base import Evidence
from conformance.apicrypt import RELAY_ADDRESS
from conformance.apicrypt.relay import addressed_to_relay
from conformance.core.vocabulary import DEFAULT_LANGUAGE, Language
from conformance.matrix.exchange import Observation, Seat, World
from conformance.matrix.exchange_large import Kept, LargeObservation
from conformance.matrix.routes import evidence_folder

if TYPE_CHECKING:
    from conformance.check.model import CheckReport
    from conformance.check.runner import Checked


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class EvidenceWriter:
    def __init__(
        self,
        out_dir: Path | None,
        sender: str,
        receiver: str,
        function: str,
        *,
        lang: Language = DEFAULT_LANGUAGE,
        route: tuple[str, ...] = (),
    ) -> None:
        self.out_dir = out_dir
        self.lang = lang
        # A cell through hops keeps its own folder beside the plain route's: FUNCTION@HOP+HOP.
        leaf = evidence_folder(_safe(function), tuple(_safe(h) for h in route))
        self.rel = Path("evidence") / _safe(sender) / _safe(receiver) / leaf
        self.paths: list[str] = []

    def _write(self, name: str, data: bytes) -> str | None:
        if self.out_dir is None:
            return None
        return self._write_file(name, data)

    def _kept(self, name: str, kept: Kept) -> None:
        """A large message (`run --large-attachment`) as its size, SHA-256 and first 64 kB
        beside them, never whole (a run would write gigabytes)."""
        if self.out_dir is None:
            return
        summary = {
            "size": kept.size,
            "sha256": kept.sha256,
            "head": f"{name}.head",
            "head_bytes": len(kept.head),
        }
        self._write_file(f"{name}.head", kept.head)
        self._write_file(f"{name}.json", json.dumps(summary, indent=2).encode())

    def _write_file(self, name: str, data: bytes) -> str | None:
        assert self.out_dir is not None
        path = self.out_dir / self.rel / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rel = str(self.rel / name)
        self.paths.append(rel)
        return rel

    def observation(
        self, prefix: str, obs: Observation, description: str | None = None
    ) -> list[str]:
        """Write what one exchange produced; returns the paths written."""
        start = len(self.paths)
        if description is not None:
            text = f"{description}\n\nreason: {obs.reason}\n"
            self._write(f"{prefix}.txt", text.encode("utf-8"))
        self._write(f"{prefix}.content.eml", obs.entity)
        if obs.message is not None:
            self._write(f"{prefix}.sent.eml", obs.message)
        if obs.delivered is not None and obs.delivered != obs.message:
            self._write(f"{prefix}.delivered.eml", obs.delivered)
        tool_output = []
        if obs.send is not None:
            tool_output.append(("send", obs.send.evidence))
        if obs.reception is not None:
            status = obs.reception.status.to_json()
            self._write(f"{prefix}.status.json", json.dumps(status, indent=2).encode("utf-8"))
            if obs.reception.content is not None:
                self._write(f"{prefix}.received.eml", obs.reception.content)
            tool_output.append(("receive", obs.reception.evidence))
        for side, ev in tool_output:
            self._tool_log(prefix, side, ev)
        return self.paths[start:]

    def _tool_log(self, prefix: str, side: str, ev: Evidence) -> None:
        """A side's tool output (its command, notes, stderr; a receiver's short stdout)."""
        if ev.command or ev.stdout or ev.stderr or ev.notes:
            log = [f"$ {' '.join(ev.command)}" if ev.command else ""]
            log += ev.notes
            if ev.stderr:
                log.append("--- stderr ---\n" + ev.stderr.decode("utf-8", "replace"))
            if ev.stdout and side == "receive" and len(ev.stdout) < 65536:
                log.append("--- stdout ---\n" + ev.stdout.decode("utf-8", "replace"))
            self._write(f"{prefix}.{side}.log", "\n".join(log).encode("utf-8"))

    def large_observation(self, prefix: str, obs: LargeObservation, description: str) -> None:
        """Write what one large exchange produced: each message kept, the status, the
        tools' output and where the cell held a message whole."""
        text = f"{description}\n\nreason: {obs.reason}\n" + "".join(
            f"note: {n}\n" for n in obs.notes
        )
        self._write(f"{prefix}.txt", text.encode("utf-8"))
        for name, kept in (
            ("content", obs.entity),
            ("sent", obs.message),
            ("delivered", obs.delivered),
            ("received", obs.received),
        ):
            if kept is not None:
                self._kept(f"{prefix}.{name}.eml", kept)
        if obs.status is not None:
            status = json.dumps(obs.status.to_json(), indent=2).encode("utf-8")
            self._write(f"{prefix}.status.json", status)
        if obs.send is not None:
            self._tool_log(prefix, "send", obs.send.evidence)

    def checks(
        self, prefix: str, obs: Observation, sender: Seat, receiver: Seat, world: World
    ) -> str | None:
        """The validator's report on the message the sender sent (`validate`), its HTML
        and JSON beside it."""
        if self.out_dir is None:
            return None
        checked = validate(obs, sender, receiver, world)
        return self.report(prefix, checked.report if checked is not None else None)

    def report(self, prefix: str, report: CheckReport | None) -> str | None:
        """Write a validator report already made; returns the HTML's path."""
        if self.out_dir is None or report is None:
            return None
        from conformance.check.render import html_page

        self._write(f"{prefix}.checks.json", json.dumps(report.to_json(), indent=2).encode())
        return self._write(f"{prefix}.checks.html", html_page(report, self.lang).encode("utf-8"))


def validate(obs: Observation, sender: Seat, receiver: Seat, world: World) -> Checked | None:
    """The validator's report on the message the sender sent, before any hop of the route,
    under the run's policy, with the layers it read: what it breaks is the sender's fault
    (the cell's `nonconformant`), never a gateway's rewrite of it; what a gateway did is the
    cell's verdict, its delivered message kept beside (`observation`)."""
    message = obs.message
    if message is None:
        return None
    from conformance.check.runner import check_message

    # An Apicrypt-model sender mails its relay, which forwards to the recipient (the model):
    # the relay is whom its message is addressed to.
    recipient = RELAY_ADDRESS if addressed_to_relay(message) else receiver.party.email
    return check_message(
        message,
        identity_dir=receiver.party.identity_dir,
        trust=world.trust,
        crls=world.crls,
        expected_sender=sender.party.email,
        expected_recipient=recipient,
        policy=world.policy,
    )


# The validator's rule that a message has an S/MIME layer: an Apicrypt-model message, in its
# own format, has none by design (its pair's verdicts say what that costs), so the matrix
# does not count it as that message's non-conformance; the validator's other rules apply.
_SMIME_LAYER_RULE = "SMIME-012"


def nonconformant(report: CheckReport | None, apicrypt: bool = False) -> list[str]:
    """The rule ids the message breaks with an ERROR under the policy, each once, in order
    (an Apicrypt-model message's lack of an S/MIME layer aside)."""
    if report is None:
        return []
    found = (c.id for c in report.errors if not (apicrypt and c.id == _SMIME_LAYER_RULE))
    return list(dict.fromkeys(found))
