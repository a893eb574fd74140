"""The one SMTP server and the one SMTP client of the suite, on loopback.

The server is aiosmtpd's, started on a free port of 127.0.0.1 for the length of a `with`
block: EHLO with SIZE (RFC 1870) and 8BITMIME (RFC 6152) announced or not as the options
say, STARTTLS (RFC 3207) with the test PKI's server certificate, AUTH PLAIN/LOGIN (RFC
4954) after STARTTLS only. Every message accepted is handed to `on_message`; a client
that drops before the final "." delivers nothing. The client is smtplib's: it negotiates
what the server announces, as a real MTA does, and turns every refusal into a
DeliveryError with the code, the text and the server that answered.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import smtplib
import socket
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, Session
from aiosmtpd.smtp import Envelope as ServerEnvelope

from conformance.loopback import LOOPBACK
from conformance.mail.delivery import DeliveryError
from conformance.mail.endpoint import Endpoint
from conformance.mail.tls import client_context, server_context

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# aiosmtpd 1.4 sets its own deprecated Session.login_data at every AUTH and logs a warning
# about it on its "mail.log" logger: its internals, not a fact about the client.
_LOG = logging.getLogger("mail.log")
_LOG.addFilter(lambda record: "login_data is deprecated" not in record.getMessage())

SUBMIT_TIMEOUT_S = 30.0
# An address the server takes: local@domain, no space, no angle bracket left over.
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^@\s<>]+@localhost$")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")


class Refused(Exception):
    """Raised by an `on_message` callback: answer the client with this SMTP reply."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Envelope:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # exactly as received (CRLF line ends, dot-stuffing removed)
    body: str | None  # the ESMTP BODY parameter (RFC 6152): "8BITMIME", "7BIT" or None
    tls: bool  # received after STARTTLS
    user: str | None  # the AUTH user, if the client authenticated


@dataclass(frozen=True)
class ServerOptions:
    """What the server announces and enforces."""

    hostname: str = "localhost"
    eight_bit_mime: bool = True  # announce 8BITMIME (and take BODY=8BITMIME)
    size_limit: int | None = None  # announce SIZE and refuse larger messages (552)
    starttls: bool = True  # offer STARTTLS
    require_starttls: bool = False  # refuse everything but EHLO/STARTTLS/QUIT before TLS
    users: Mapping[str, str] | None = field(default=None, hash=False)  # AUTH user -> password
    timeout_s: float = 60.0  # idle client


OnMessage = Callable[[Envelope], None]


def _reply_line(code: int, text: str) -> str:
    """One SMTP reply line: a 4xx or 5xx code, the text on one line."""
    code = code if 400 <= code <= 599 else 451
    return f"{code} {' '.join(text.split())}"


class _Handler:
    """aiosmtpd's hooks: what EHLO announces, the checks of MAIL and RCPT, DATA."""

    def __init__(self, on_message: OnMessage, options: ServerOptions) -> None:
        self.on_message = on_message
        self.options = options

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: ServerEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        dropped: set[str] = set()
        if not self.options.eight_bit_mime:
            # A server without 8BITMIME offers no SMTPUTF8 either: RFC 6531 requires both
            # together, and Postfix takes SMTPUTF8 for 8BITMIME (it would send BODY=8BITMIME
            # to a hop that then refuses it, instead of converting).
            dropped.update(("8BITMIME", "SMTPUTF8"))
        if not self.options.users:
            dropped.add("AUTH")
        return [r for r in responses if r[4:].split(" ")[0] not in dropped]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: ServerEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if not self.options.eight_bit_mime and "BODY=8BITMIME" in mail_options:
            # RFC 6152 section 3: BODY=8BITMIME only to a server announcing 8BITMIME;
            # RFC 5321 section 4.5.3.1.10 names the reply to a parameter not offered.
            return "555 5.5.4 BODY=8BITMIME: this server does not offer 8BITMIME (RFC 6152)"
        if address and not _ADDRESS.match(address):
            return f"553 5.1.7 <{address}>: sender address rejected: not local@domain"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: ServerEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not _ADDRESS.match(address):
            return f"553 5.1.3 <{address}>: recipient address rejected: not local@domain"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: ServerEnvelope) -> str:
        body = next(
            (o.split("=", 1)[1] for o in envelope.mail_options if o.startswith("BODY=")), None
        )
        auth = session.auth_data
        message = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=bytes(envelope.original_content or b""),
            body=body,
            tls=session.ssl is not None,
            user=auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else None,
        )
        loop = asyncio.get_running_loop()
        try:
            # The callback may relay to the next hop (blocking smtplib): not on the loop.
            await loop.run_in_executor(None, self.on_message, message)
        except Refused as exc:
            return _reply_line(exc.code, exc.text)
        except Exception as exc:  # a callback's bug must still get the client an answer
            return _reply_line(451, f"4.3.0 local error in processing: {type(exc).__name__}: {exc}")
        return "250 2.0.0 OK: queued"

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: ServerEnvelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        users = self.options.users or {}
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in users and users[login] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class _OneBufferSMTP(SMTP):
    """aiosmtpd's server with a DATA that keeps the message once.

    aiosmtpd (1.4) keeps DATA as one bytearray per line (an object header and a separate
    allocation each: some 2.5 times the message), then joins them into another copy: an
    imaging message took four times its size at the server. Nothing configures that, so
    DATA is written here as aiosmtpd's: lines read one by one with the same limits (line
    length: 500; data size: 552 once all is read), the same replies, a client dropping
    before the final "." cancelling it, `handle_DATA` called the same way; each line goes
    un-stuffed (RFC 5321 section 4.5.2) into one BytesIO, whose `getvalue()` hands over
    its own buffer instead of copying it. Like the Controller's, it never decodes DATA.
    """

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        buffer = io.BytesIO()
        size = 0
        limit = self.data_size_limit
        refusal: str | None = None  # the reply once the client sent its final "."
        partial = False  # the end of an over-long line is still to come
        ended = False
        while self.transport is not None:
            try:
                line: bytes = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:  # eof_received: the client dropped
                _LOG.info("Connection lost during DATA")
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as exc:  # a line longer than the reader takes
                refusal = refusal or "500 Line too long (see RFC5321 4.5.3.1.6)"
                line = await self._reader.read(exc.consumed)
            if not partial and line == b".\r\n":
                ended = True
                break
            size += len(line)
            if refusal is None and limit and size > limit:
                refusal = "552 Error: Too much mail data"
            elif refusal is None and len(line) > self.line_length_limit:
                refusal = "500 Line too long (see RFC5321 4.5.3.1.6)"
            partial = not line.endswith(b"\r\n")
            if refusal is None:
                buffer.write(line[1:] if line.startswith(b".") else line)
            elif buffer.tell():  # what was kept is let go at once; the rest is only read
                buffer = io.BytesIO()
        if not ended:  # aiosmtpd would take what it had: a message cut short is none
            return
        if refusal is not None:
            await self.push(refusal)
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        content = buffer.getvalue()  # its own buffer, not a copy: no view of it was taken
        del buffer
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)


class _BoundController(Controller):
    """aiosmtpd's Controller on a socket bound beforehand (port 0: a free port the system
    chose), instead of a port number another process could bind first, serving with
    `_OneBufferSMTP`."""

    def __init__(self, handler: _Handler, listener: socket.socket, **kwargs: Any) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._listener = listener

    def factory(self) -> SMTP:
        return _OneBufferSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Coroutine[Any, Any, asyncio.AbstractServer]:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listener, ssl=self.ssl_context
        )


def _listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose protocol is named: asyncio sets TCP_NODELAY only on
    connections of such a socket, and without it each line aiosmtpd writes (one write per
    reply line) waits for the client's delayed ACK: 40 ms per multi-line EHLO reply."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
    except BaseException:
        listener.close()
        raise
    return listener


@contextmanager
def smtp_server(
    on_message: OnMessage,
    options: ServerOptions | None = None,
    host: str = LOOPBACK,
    port: int = 0,
) -> Iterator[Endpoint]:
    """A running SMTP server on `port` of `host` (0: a free port); stopped when the block
    ends. A port that cannot be bound is an OSError."""
    options = options or ServerOptions()
    handler = _Handler(on_message, options)
    # Bound here (port 0: a free one), so no other process can take it; in use: OSError.
    listener = _listener(host, port)
    try:
        controller = _BoundController(
            handler,
            listener,
            server_hostname=options.hostname,
            ident="osm-conformance ESMTP",
            data_size_limit=options.size_limit,
            tls_context=server_context() if options.starttls else None,
            require_starttls=options.require_starttls,
            auth_required=bool(options.users),
            auth_require_tls=True,
            authenticator=handler.authenticate,
            timeout=options.timeout_s,
        )
        controller.start()
    except BaseException:
        listener.close()
        raise
    try:
        yield Endpoint(host, controller.port, "smtp")
    finally:
        controller.stop()


@contextmanager
def log_to(path: Path) -> Iterator[None]:
    """What the servers log (aiosmtpd's warnings on "mail.log": a client's unknown command,
    a failed TLS handshake, with the client's address) appended to `path` instead of
    stderr for the length of the block: a server in front of a tester keeps its
    terminal to its own lines, and the facts stay in the file."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    propagate = _LOG.propagate
    _LOG.addHandler(handler)
    _LOG.propagate = False
    try:
        yield
    finally:
        _LOG.propagate = propagate
        _LOG.removeHandler(handler)
        handler.close()


def _refusal(endpoint: Endpoint, code: int, text: bytes | str) -> DeliveryError:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    said = " ".join(said.split())
    return DeliveryError(f"{endpoint} answered {code} {said}", code=code, endpoint=endpoint)


def canonical_lines(message: bytes) -> bytes:
    """CRLF line ends, as SMTP carries them (RFC 5321 section 2.3.8); a bare LF would
    make one long line of the whole message. A message already canonical is returned
    as it is: an imaging series is hundreds of megabytes, copied twice per hop before."""
    if message.count(b"\n") == message.count(b"\r\n"):
        return message
    return re.sub(rb"\r?\n", b"\r\n", message)


_CHUNK = 1 << 20


class _StreamingSMTP(smtplib.SMTP):
    """smtplib's client with DATA written from the message as it is.

    smtplib's own `data` dot-stuffs into a new copy of the message and appends the end
    marker into another before writing: with the relays in this process, a 143 MB imaging
    message was held some eight times at once. Here the dot-stuffing (RFC 5321 section
    4.5.2, the lines smtplib quotes: every "." after a line feed) is written as a piece
    of its own between slices of the message, which are never copied.
    """

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        # sendmail hands bytes on as they are (bytes() of bytes is the same object)
        msg = canonical_lines(msg.encode("ascii")) if isinstance(msg, str) else bytes(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        view = memoryview(msg)
        start = 0
        if msg.startswith(b"."):
            self.send(b".")
        while start < len(msg):
            dot = msg.find(b"\n.", start, start + _CHUNK + 1)  # one past: a "\n" ending it
            end = min(len(msg), start + _CHUNK) if dot < 0 else dot + 1
            self.send(view[start:end])
            if dot >= 0:
                self.send(b".")
            start = end
        self.send(b".\r\n" if msg.endswith(b"\r\n") else b"\r\n.\r\n")
        return self.getreply()


class _StreamingLMTP(_StreamingSMTP, smtplib.LMTP):
    """LMTP (RFC 2033) with the same DATA."""


def submit(
    endpoint: Endpoint,
    message: bytes,
    mail_from: str,
    rcpt_tos: Sequence[str],
    *,
    starttls: bool | None = None,
    user: str | None = None,
    password: str | None = None,
    timeout: float = SUBMIT_TIMEOUT_S,
) -> None:
    """Hand `message` to the server at `endpoint` (SMTP, or LMTP by its protocol).

    EHLO, STARTTLS (required when `starttls`, by default over SMTP, not over the suite's
    loopback LMTP: verified against the test root), EHLO again,
    AUTH when `user` is given, then SIZE and BODY=8BITMIME when the server announces them
    (an 8-bit message to a server without 8BITMIME goes as it is, as many clients do).
    Every refusal, and a server that cannot be reached, is a DeliveryError.
    Over LMTP, one transaction per recipient: LMTP answers DATA once per recipient (RFC
    2033 4.2) and smtplib reads only the first answer, so that the next command would read
    a stale one.
    """
    if starttls is None:
        starttls = endpoint.protocol == "smtp"
    if endpoint.protocol == "lmtp" and len(rcpt_tos) > 1:
        for rcpt in rcpt_tos:
            submit(endpoint, message, mail_from, [rcpt], starttls=starttls, user=user,
                   password=password, timeout=timeout)  # fmt: skip
        return
    data = canonical_lines(message)
    client_class = _StreamingLMTP if endpoint.protocol == "lmtp" else _StreamingSMTP
    try:
        client = client_class(endpoint.host, endpoint.port, "localhost", timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"{endpoint}: cannot connect ({exc})", code=None, endpoint=endpoint
        ) from None
    if client.sock is not None:
        # smtplib writes a command and its argument in separate small writes: with Nagle's
        # algorithm on, each exchange waits for the peer's delayed ACK (40 ms on Linux).
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        with client:
            client.ehlo()
            if starttls:
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"{endpoint} does not offer STARTTLS", code=None, endpoint=endpoint
                    )
                client.starttls(context=client_context())
                client.ehlo()
            if user is not None:
                client.login(user, password or "")
            options: list[str] = []  # smtplib adds SIZE= itself when the server announces it
            if _EIGHT_BIT.search(data) and client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            if not "".join((mail_from, *rcpt_tos)).isascii():
                # RFC 6531: a non-ASCII address only with SMTPUTF8, which smtplib refuses
                # (SMTPNotSupportedError) when the server does not announce it.
                options.append("SMTPUTF8")
            refused = client.sendmail(mail_from, list(rcpt_tos), data, mail_options=options)
            if refused:  # some recipients took it, these did not
                address, (code, text) = next(iter(refused.items()))
                raise _refusal(endpoint, code, text.decode("utf-8", "replace") + f" <{address}>")
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{endpoint}: {exc}", code=None, endpoint=endpoint) from None
    except smtplib.SMTPRecipientsRefused as exc:
        address, (code, text) = next(iter(exc.recipients.items()))
        raise _refusal(endpoint, code, text) from None
    except smtplib.SMTPResponseException as exc:
        raise _refusal(endpoint, exc.smtp_code, exc.smtp_error) from None
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError, TimeoutError are OSErrors
        raise DeliveryError(
            f"{endpoint}: connection failed ({type(exc).__name__}: {exc})",
            code=None,
            endpoint=endpoint,
        ) from None
