"""The test accounts of `serve`: one per test identity, user name = its e-mail address.

The passwords are the test identities' mailbox passwords (`mail.store.mailbox_password`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.agents import identity_files as files
from conformance.mail.store import mailbox_password

ACCOUNTS_FILE = "accounts.csv"
ACCOUNT_COLUMNS = ("identity", "name", "email", "password", "role")


@dataclass(frozen=True)
class Account:
    identity: str  # the test PKI's identity id (pro24)
    name: str
    email: str  # the SMTP and IMAP user name
    password: str
    role: str  # who plays it: the product's user, or a correspondent's agent


def make_accounts(identities: Path, roles: Iterable[tuple[str, str]]) -> list[Account]:
    """An account per (identity id, role), read from the export's `identities/` folder;
    an identity named twice keeps its first role."""
    accounts: dict[str, Account] = {}
    for identity, role in roles:
        if identity in accounts:
            continue
        data = files.identity_json(identities / identity)
        accounts[identity] = Account(
            identity, str(data["name"]), str(data["email"]), mailbox_password(identity), role
        )
    return list(accounts.values())


def write_accounts(accounts: Iterable[Account], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ACCOUNT_COLUMNS)
        for a in accounts:
            writer.writerow((a.identity, a.name, a.email, a.password, a.role))


def check_login(accounts: Iterable[Account], user: str, password: str) -> Account | None:
    """The account these credentials open (user name case-insensitive), or None."""
    for account in accounts:
        if account.email.lower() == user.strip().lower() and account.password == password:
            return account
    return None
