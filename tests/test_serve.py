"""`osm-conformance serve` end to end: real servers on loopback, Python's smtplib and
imaplib as the product.

The session runs in-process (Dovecot when installed, else maildirs); the product's
user logs in over STARTTLS with its test password, sends a message the `reference` agent
made for it and a plain one, and finds the dropped messages in its mailbox. The command
line runs as a subprocess for what only it does: Ctrl-C, --once, bad input.
"""

from __future__ import annotations

import csv
import imaplib
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from conformance.agents import identity_files as files
from conformance.agents.base import SendRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.core.vocabulary import Party
from conformance.mail import dovecot
from conformance.mail.maildir import folder_name
from conformance.mail.tls import client_context
from conformance.scenarios import basic_scenario, build_entity
from conformance.serve.accounts import Account
from conformance.serve.drops import VECTORS_DIR
from conformance.serve.session import (
    MAILDIR_DIR,
    SUBMISSION_SIZE_LIMIT,
    Running,
    Settings,
    describe,
    serving,
)
from conformance.vectors.common import shipped_profiles

ROOT = Path(__file__).resolve().parent.parent
JUDGE_WAIT_S = 60.0
# Any free port: a test never depends on the default ports being free.
FREE_PORTS = ("--smtp-port", "0", "--imap-port", "0", "--web-port", "0")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    out = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
        settings = Settings(out=out, profile="nss", senders=("reference",))
        with serving(settings) as session:
            yield session


def _login(running: Running, account: Account) -> smtplib.SMTP:
    client = smtplib.SMTP(running.smtp.host, running.smtp.port, "localhost", timeout=30)
    client.ehlo()
    client.starttls(context=client_context())
    client.ehlo()
    client.login(account.email, account.password)
    return client


def _correspondent(running: Running) -> Account:
    return next(a for a in running.accounts if "reference" in a.role)


def _made_by_reference(running: Running, to: Account) -> bytes:
    """A signed and encrypted message from the product's user, as the reference agent
    writes it: what a product that follows the standard would send."""
    identities = running.settings.out / VECTORS_DIR / "identities"
    inbox = running.inbox
    sender = Party(identities / inbox.identity, inbox.email, inbox.name)
    certificate = files.role_certificate(identities / to.identity, "encrypt")
    scenario = basic_scenario("sign-encrypt")
    agent = make_agent(shipped_profiles()["reference"])
    try:
        result = agent.send(
            SendRequest(
                function="sign-encrypt",
                content=build_entity(scenario),
                sender=sender,
                recipients=(certificate,),
                recipient_emails=(to.email,),
                subject="Réponse du produit",
            )
        )
    finally:
        close_agent(agent)
    assert result.message is not None, result.reason
    return result.message


def test_start_up_says_what_a_client_needs(running: Running) -> None:
    text = describe(running)
    assert f"localhost:{running.smtp.port}" in text and "STARTTLS" in text
    for account in running.accounts:
        assert account.email in text and account.password in text
    if running.imap is not None:
        assert f"IMAP             localhost:{running.imap.port}" in text
    else:
        assert "IMAP: not available" in text
    assert "identity.p12" in text and "password: test" in text
    assert f"failed TLS handshake): {running.settings.out / 'smtp.log'}" in text
    rows = list(csv.DictReader((running.settings.out / "accounts.csv").open(encoding="utf-8")))
    assert {r["email"] for r in rows} == {a.email for a in running.accounts}


def test_what_the_product_sends_is_collected_and_judged(running: Running) -> None:
    correspondent = _correspondent(running)
    signed = _made_by_reference(running, correspondent)
    plain = (
        f"From: {running.inbox.email}\r\nTo: {correspondent.email}\r\n"
        "Subject: sans protection\r\nDate: Tue, 15 Jul 2025 10:00:00 +0200\r\n"
        "Message-ID: <plain-1@osm-test.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    ).encode()
    before = running.collector.handled
    with _login(running, running.inbox) as client:
        client.sendmail(running.inbox.email, [correspondent.email], signed)
        client.sendmail(running.inbox.email, [correspondent.email], plain)
    assert running.collector.wait(before + 2, JUDGE_WAIT_S), running.collector.failures
    assert running.collector.failures == []
    out = running.settings.out
    data = json.loads((out / "judged.json").read_text(encoding="utf-8"))
    assert data["measurement"] == "measured: the product's messages read by the suite"
    by_subject = {m["subject"]: m for m in data["messages"]}
    sent = by_subject["Réponse du produit"]
    assert (sent["signed"], sent["encrypted"], sent["readable"]) == (True, True, True)
    assert sent["verdict"] == "pass" and sent["function"] == "sign-encrypt"
    assert sent["recipient_identity"] == correspondent.identity
    assert sent["services"] == dict.fromkeys(sent["services"], True)
    assert sent["validator_errors"] == [], sent["validator_errors"]
    unsigned = by_subject["sans protection"]
    assert (unsigned["signed"], unsigned["encrypted"], unsigned["readable"]) == (
        False,
        False,
        True,
    )
    assert unsigned["verdict"] == "plain"
    assert unsigned["shown"] == "not signed, not encrypted; readable"
    kept = out / sent["file"]
    assert kept.read_bytes().replace(b"\r\n", b"\n") == signed.replace(b"\r\n", b"\n")
    envelope = json.loads(kept.with_suffix(".envelope.json").read_text(encoding="utf-8"))
    assert envelope["user"] == running.inbox.email
    assert envelope["rcpt_tos"] == [correspondent.email]
    manifest = json.loads((out / "received" / "manifest.json").read_text(encoding="utf-8"))
    assert {"file": kept.name, "recipient": correspondent.identity} in [
        {"file": m["file"], "recipient": m["recipient"]} for m in manifest["messages"]
    ]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "measured: the product's messages read by the suite" in summary
    assert "not signed, not encrypted" in summary


def test_auth_before_starttls_is_refused(running: Running) -> None:
    with smtplib.SMTP(running.smtp.host, running.smtp.port, "localhost", timeout=30) as client:
        client.ehlo()
        assert not client.has_extn("auth")  # not even offered in clear
        account = running.inbox
        plain = f"\0{account.email}\0{account.password}".encode()
        import base64

        code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(plain).decode())
        assert code == 538, text
        code, text = client.docmd("MAIL", f"FROM:<{account.email}>")
        assert code == 530, text  # and nothing is taken without authentication


def test_a_wrong_password_is_refused(running: Running) -> None:
    client = smtplib.SMTP(running.smtp.host, running.smtp.port, "localhost", timeout=30)
    with client:
        client.ehlo()
        client.starttls(context=client_context())
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(running.inbox.email, _correspondent(running).password)
        assert refused.value.smtp_code == 535


def test_a_message_over_the_size_limit_is_refused_with_552(running: Running) -> None:
    with _login(running, running.inbox) as client:
        assert client.esmtp_features["size"] == str(SUBMISSION_SIZE_LIMIT)
        code, text = client.mail(running.inbox.email, [f"SIZE={SUBMISSION_SIZE_LIMIT + 1}"])
    assert code == 552, text


def test_a_non_ascii_sender_is_kept_and_answered_250(running: Running) -> None:
    """Dovecot's LMTP announces no SMTPUTF8: the copy into the mailbox fails, the message
    is kept and judged all the same, and the client gets no temporary failure to retry."""
    before = running.collector.handled
    message = b"Subject: utf8\r\n\r\nBonjour.\r\n"
    with _login(running, running.inbox) as client:
        client.sendmail("émilie@osm-test.example", [running.inbox.email], message, ["SMTPUTF8"])
    assert running.collector.wait(before + 1, JUDGE_WAIT_S), running.collector.failures


def test_the_dropped_messages_are_in_the_products_mailbox(running: Running) -> None:
    out = running.settings.out
    dropped = list(csv.DictReader((out / "dropped.csv").open(encoding="utf-8")))
    assert len(dropped) == len(running.drops) > 50
    assert {d["kind"] for d in dropped} == {"interop", "rejection"}
    first = dropped[0]
    if running.imap is None:
        box = out / MAILDIR_DIR / folder_name(running.inbox.email)
        messages = [p.read_bytes() for p in sorted((box / "new").iterdir())]
    else:
        imap = imaplib.IMAP4(running.imap.host, running.imap.port, timeout=30)
        try:
            imap.starttls(client_context())
            imap.login(running.inbox.email, running.inbox.password)
            imap.select("INBOX", readonly=True)
            status, found = imap.search(None, "HEADER", "X-OSM-Conformance-Drop", '""')
            assert status == "OK"
            messages = []
            for number in found[0].split():
                status, data = imap.fetch(number.decode(), "(BODY.PEEK[])")
                assert status == "OK" and isinstance(data[0], tuple)
                messages.append(data[0][1])
        finally:
            imap.logout()
    by_id = {message_from_bytes(m)["X-OSM-Conformance-Drop"]: m for m in messages}
    assert set(by_id) == {d["id"] for d in dropped}
    parsed = message_from_bytes(by_id[first["id"]])
    assert parsed["Subject"] == first["subject"] and first["subject"].startswith("[I01] ")
    original = (out / VECTORS_DIR / first["file"]).read_bytes()
    body = original.split(b"\r\n\r\n", 1)[1]
    assert by_id[first["id"]].replace(b"\r\n", b"\n").endswith(body.replace(b"\r\n", b"\n"))


def test_the_record_form_is_served(running: Running) -> None:
    import urllib.request

    host, port = running.web
    page = urllib.request.urlopen(f"http://{host}:{port}/", timeout=10).read().decode()
    assert "observed by the tester" in page and "R01" in page


# The command line, as a subprocess.


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance", "serve", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OSM_CONFORMANCE_TOKEN": "software"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`serve` with these arguments, run to its end."""
    return subprocess.run(_cli(*args), env=_env(), capture_output=True, text=True, timeout=120)


def test_an_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    done = _run("--profile", "thunderbird", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "unknown profile 'thunderbird'; shipped profiles:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--smtp-port", str(port), "--web-port", "0", "--out", str(tmp_path))
    assert done.returncode == 2
    assert f"--smtp-port {port}: 127.0.0.1:{port} is already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    for args, said in (
        (("--smtp-port", "70000"), "expected 1 to 65535"),
        (("--duration", "-1"), "positive number of seconds"),
        (("--listen", "192.0.2.1"), "not an IPv4 address this machine has"),
        (("--out", str(tmp_path / "file")), "exists and is not a directory"),
        (("--out", str(tmp_path / "file" / "below")), "cannot create it"),
    ):
        done = _run("--out", str(tmp_path), *FREE_PORTS, *args)
        assert done.returncode == 2, args
        assert said in done.stderr and "Traceback" not in done.stderr


def _start_up(process: subprocess.Popen[str], timeout: float) -> tuple[str, int]:
    """What the command printed at start-up (up to its "Ctrl-C stops" line), and its SMTP
    port. Read line by line: communicate() would then miss what readline buffered."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops" in line:
            smtp = next(x for x in lines if x.strip().startswith("SMTP submission"))
            return "".join(lines), int(smtp.split()[2].rsplit(":", 1)[1])
    raise AssertionError(f"no start-up within {timeout} s: {''.join(lines)}")


def _dovecots(parent: int) -> set[int]:
    """The Dovecot masters `parent` started (by their configuration's temp dir)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if b"osm-dovecot-" in cmdline and ppid == parent:
                found.add(int(proc.name))
    return found


def _serving(out: Path, *extra: str) -> subprocess.Popen[str]:
    """`serve` as a process on free ports, dropping reference's messages into `out`."""
    argv = _cli("--smtp-port", "0", "--web-port", "0", *extra, "--sender", "reference")
    return subprocess.Popen(
        [*argv, "--out", str(out)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()}


def test_ctrl_c_stops_every_server(tmp_path: Path) -> None:
    process = _serving(tmp_path, "--imap-port", "0")
    try:
        _, port = _start_up(process, 180)
        with smtplib.SMTP("127.0.0.1", port, "localhost", timeout=10) as client:
            assert client.docmd("FOOBAR")[0] == 500  # aiosmtpd logs it: into OUT/smtp.log
        started = _dovecots(process.pid)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err
    assert "FOOBAR" not in err  # the terminal has serve's own lines only
    assert "unrecognised: FOOBAR" in (tmp_path / "smtp.log").read_text(encoding="utf-8")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    if dovecot.missing() is None:
        assert started, "Dovecot was not started"
    assert not _alive(started), "Dovecot still running after Ctrl-C"


def test_once_stops_after_the_first_message(tmp_path: Path) -> None:
    process = _serving(tmp_path, "--maildir", "--once")
    try:
        said, port = _start_up(process, 180)
        rows = list(csv.DictReader((tmp_path / "accounts.csv").open(encoding="utf-8")))
        user = rows[0]
        with smtplib.SMTP("127.0.0.1", port, "localhost", timeout=30) as client:
            client.starttls(context=client_context())
            client.login(user["email"], user["password"])
            client.sendmail(
                user["email"],
                ["someone@example.org"],
                b"From: x@example.org\r\nSubject: once\r\nMIME-Version: 1.0\r\n\r\nhi\r\n",
            )
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "received 1 message(s) from the product" in out
    assert "IMAP: not available (--maildir given)" in said
    assert (tmp_path / MAILDIR_DIR / folder_name(user["email"]) / "new").is_dir()
    judged = json.loads((tmp_path / "judged.json").read_text(encoding="utf-8"))
    assert [m["subject"] for m in judged["messages"]] == ["once"]


def test_without_dovecot_the_drops_are_maildir_files(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
        settings = Settings(out=tmp_path, profile="nss", senders=("reference",), maildir=True)
        with serving(settings) as session:
            assert session.imap is None and session.imap_missing == "--maildir given"
            box = tmp_path / MAILDIR_DIR / folder_name(session.inbox.email) / "new"
            messages = [message_from_bytes(p.read_bytes()) for p in box.iterdir()]
            drops = session.drops
    assert sorted(m["X-OSM-Conformance-Drop"] for m in messages) == sorted(d.id for d in drops)
    assert {m["Subject"] for m in messages} == {d.subject for d in drops}


def test_both_measurements_reach_a_results_file(running: Running, tmp_path: Path) -> None:
    """The product's messages (measured) through `vectors verify`, what the tester
    recorded in the form (observed) through `vectors import`: one results.json."""
    import urllib.parse
    import urllib.request

    from conformance.cli import main
    from conformance.results import load_results

    out = running.settings.out
    correspondent = _correspondent(running)
    before = running.collector.handled
    with _login(running, running.inbox) as client:
        client.sendmail(
            running.inbox.email,
            [correspondent.email],
            _made_by_reference(running, correspondent),
        )
    assert running.collector.wait(before + 1, JUDGE_WAIT_S)
    verified = tmp_path / "verified"
    argv = ["vectors", "verify", str(out / "received"), "--as", "nss", "--receiver", "reference"]
    assert main([*argv, "--out", str(verified)]) == 0
    sign = next(d for d in running.drops if d.kind == "interop" and d.function == "sign")
    hostile = next(d for d in running.drops if d.kind == "rejection")
    form = {
        f"{sign.id}.opened": "yes",
        f"{sign.id}.signature": "valid",
        f"{sign.id}.decrypted": "no",
        f"{sign.id}.content_ok": "yes",
        f"{hostile.id}.refused": "yes",
    }
    host, port = running.web
    page = urllib.request.urlopen(
        f"http://{host}:{port}/", data=urllib.parse.urlencode(form).encode(), timeout=10
    )
    assert "Saved." in page.read().decode()
    folded = tmp_path / "with-product.json"
    record = out / VECTORS_DIR / "record.csv"
    assert main(["vectors", "import", str(verified / "results.json"), str(record), "--as", "nss",
                 "--out", str(folded)]) == 0  # fmt: skip
    results = load_results(folded)
    observed = [c for c in results.cells if c.receiver == "nss-real"]
    assert [(c.sender, c.function, c.verdict) for c in observed] == [("reference", "sign", "pass")]
    assert results.rejections is not None
    assert any(c.receiver == "nss-real" for c in results.rejections.cells)


def test_the_size_limit_is_the_sessions_unless_raised() -> None:
    from conformance.cli import build_parser

    parser = build_parser("serve")
    assert parser.parse_args(["serve"]).max_message_bytes == SUBMISSION_SIZE_LIMIT
    raised = parser.parse_args(["serve", "--max-message-bytes", "300M"])
    assert raised.max_message_bytes == 300 * 1024**2
