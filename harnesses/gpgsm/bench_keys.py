"""gpgsm's private-key calls with its keys in gpg-agent, then on the CPS card (a benchmark).

    python harnesses/gpgsm/bench_keys.py [--calls N] [--rounds R]

One gpgsm agent per round and key store (`GpgsmAgent(keys=...)`, through its harness),
pro01 signing for pro02 and pro02 decrypting a letter. It prints per call the wall time
and the CPU time of the GnuPG daemons (gpg-agent, and gnupg-pkcs11-scd on the card), read
from /proc: the daemons are neither this process nor its children, so os.times misses them.
Figures depend on the machine and its load: rounds alternate the two stores.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.pki import load_pki
from conformance.profiles.schema import KeyStore

LETTER = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu %d.\r\n"
_TICKS = os.sysconf("SC_CLK_TCK")


def daemon_ticks(home: str) -> dict[str, int]:
    """CPU clock ticks so far of each GnuPG daemon serving `home`, by program name."""
    found: dict[str, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        name = os.path.basename(argv[0].decode(errors="replace"))
        if home.encode() in b" ".join(argv) and name in ("gpg-agent", "gnupg-pkcs11-scd"):
            found[name] = int(fields[11]) + int(fields[12])  # utime + stime
    return found


def timed(agent: GpgsmAgent, calls: int, call: Callable[[int], Any]) -> str:
    """`call` once to warm up, then `calls` times: wall ms and daemons' CPU ms per call."""
    call(0)
    home = str(agent.home)
    before, start = daemon_ticks(home), time.perf_counter()
    for n in range(calls):
        call(n)
    wall, after = time.perf_counter() - start, daemon_ticks(home)
    cpu = ", ".join(
        f"{name} {(ticks - before.get(name, 0)) / _TICKS / calls * 1000:.2f}"
        for name, ticks in sorted(after.items())
    )
    return f"wall {wall / calls * 1000:.2f} ms; daemons' CPU ms per call: {cpu}"


def one_round(keys: KeyStore, calls: int) -> None:
    pki = load_pki()
    sender, reader = pki.identity("pro01"), pki.identity("pro02")
    agent = GpgsmAgent(keys=keys)
    try:
        for who in (sender, reader):
            agent.prepare(who.party())
        letter = agent.send(
            SendRequest("encrypt", LETTER % 0, sender.party(), (reader.certificate("encrypt"),), ())
        ).message
        assert letter is not None
        request = ReceiveRequest(letter, reader.party(), pki.trust_paths(), pki.crl_paths())

        def sign(n: int) -> object:
            return agent.send(SendRequest("sign", LETTER % n, sender.party(), (), ()))

        print(f"{keys:8}  sign     {timed(agent, calls, sign)}")
        print(f"{keys:8}  decrypt  {timed(agent, calls, lambda n: agent.receive(request))}")
    finally:
        agent.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per measure (100)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both stores (2)")
    args = parser.parse_args(argv)
    for _ in range(args.rounds):
        stores: tuple[KeyStore, ...] = ("software", "card")
        for keys in stores:
            one_round(keys, args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
