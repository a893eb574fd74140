"""Every message the submission server accepts: kept in OUT/received/ with its envelope
before the server answers 250, then judged in one worker thread (the reader is not
shared between threads), and the judgements rewritten after each one."""

from __future__ import annotations

import json
import queue
import threading
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from conformance.agents.base import Agent
from conformance.serve.judge import Context, Envelope, Judged, judge_message, verify_entries
from conformance.serve.summary import JUDGED_FILE, write_judged
from conformance.vectors.manifest import MANIFEST_FILE

RECEIVED_DIR = "received"


def _earlier(path: Path) -> list[Judged]:
    """The judgements of an earlier session in the same folder, kept beside the new ones
    (its messages stay in received/); none when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Judged.from_json(m) for m in data["messages"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


class Collector:
    """Keeps and judges what the product sends; `wait(n)` for tests and `--once`."""

    def __init__(self, out: Path, context: Context, reader: Agent) -> None:
        self.out = out
        self.folder = out / RECEIVED_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.context = context
        self.reader = reader
        self.judged: list[Judged] = _earlier(out / JUDGED_FILE)
        # Written from the start, so that the files the start-up banner and the farewell
        # name exist, saying so, even when the product sends nothing.
        write_judged(self.judged, context.product.id, out)
        self.failures: list[str] = []  # a judgement the harness could not make
        self._count = len(list(self.folder.glob("*.eml")))
        self._lock = threading.Lock()
        self._done = threading.Condition()
        self._handled = 0
        self._queue: queue.Queue[tuple[str, bytes, Envelope] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="serve-judge", daemon=True)
        self._worker.start()

    def keep(self, message: bytes, mail_from: str, rcpt_tos: list[str], user: str | None) -> str:
        """Write the message and its envelope; queue it for judging. Returns its file."""
        envelope = Envelope(
            mail_from,
            tuple(rcpt_tos),
            user,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with self._lock:
            self._count += 1
            name = f"{self._count:04d}"
        (self.folder / f"{name}.eml").write_bytes(message)
        (self.folder / f"{name}.envelope.json").write_text(
            json.dumps(asdict(envelope), indent=2) + "\n", encoding="utf-8"
        )
        file = f"{RECEIVED_DIR}/{name}.eml"
        self._queue.put((file, message, envelope))
        return file

    def wait(self, count: int, timeout: float) -> bool:
        """True once `count` messages have been judged (or failed to be)."""
        with self._done:
            return self._done.wait_for(lambda: self._handled >= count, timeout)

    @property
    def handled(self) -> int:
        with self._done:
            return self._handled

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=60)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            file, message, envelope = item
            try:
                self.judged += judge_message(message, envelope, file, self.context, self.reader)
                self._write()
            except Exception:  # a harness fault: said, never a verdict about the product
                self.failures.append(f"{file}: could not be judged:\n{traceback.format_exc()}")
                (self.out / f"{file}.judge-error.txt").write_text(
                    self.failures[-1], encoding="utf-8"
                )
            with self._done:
                self._handled += 1
                self._done.notify_all()

    def _write(self) -> None:
        write_judged(self.judged, self.context.product.id, self.out)
        entries = verify_entries(self.judged)
        (self.folder / MANIFEST_FILE).write_text(
            json.dumps({"messages": entries}, indent=2) + "\n", encoding="utf-8"
        )
