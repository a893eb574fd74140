"""`osm-conformance token init|show`: the stand-in CPS card on the command line.

`token init` writes a persistent SoftHSM token holding the test PKI under
``cache_dir()/softhsm/token/`` (tests use their own per-process copies).
`token show` lists a token's objects and the PKCS#11 URI of each key; with
--module it shows any PKCS#11 token (a real CPS card through its library).
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance import paths
from conformance.errors import UserError

TOKEN_DIR_NAME = "token"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "token",
        help="the stand-in CPS card (SoftHSM2) or any PKCS#11 token",
        description=(
            "Provision SoftHSM2 with the test PKI's keys, or list the objects of a "
            "PKCS#11 token with the URI of each key."
        ),
    )
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    init = sub.add_parser(
        "init",
        help="initialise a SoftHSM2 token and import every identity's keys and certificates",
        description=(
            "Initialise a SoftHSM2 token under the cache directory and import the test "
            "PKI's private keys (private, sensitive, non-extractable; CKA_LABEL "
            "<identity>-<role>, CKA_ID = the certificate's subject key identifier) and "
            "certificates. Prints the SOFTHSM2_CONF to use with other tools."
        ),
    )
    _common(init, softhsm_only=True)
    init.add_argument(
        "--pki",
        type=Path,
        default=None,
        metavar="DIR",
        help="the PKI whose identities to import (default: the shipped test PKI)",
    )
    init.set_defaults(func=_token_errors(_init))
    show = sub.add_parser(
        "show",
        help="list a token's objects (label, id, class, key type and size, URI)",
        description=(
            "List the objects of a token. Without --module, the token written by "
            "`token init`; with --module, any PKCS#11 module (then SOFTHSM2_CONF or the "
            "vendor's own configuration applies)."
        ),
    )
    _common(show, softhsm_only=False)
    show.set_defaults(func=_token_errors(_show))


def _common(parser: argparse.ArgumentParser, *, softhsm_only: bool) -> None:
    from conformance.token import softhsm

    parser.add_argument(
        "--module",
        # show's missing module is a missing component (exit 3, as the library loader says).
        type=_module_file if softhsm_only else Path,
        default=None,
        help=(
            "SoftHSM2 library to use"
            if softhsm_only
            else "PKCS#11 module (default: SoftHSM2 with the token of `token init`)"
        )
        + f" (default path {softhsm.module_path()})",
    )
    parser.add_argument(
        "--label",
        type=_label,
        default=None,
        help=f"token label, 1 to {softhsm.LABEL_MAX} characters (default {softhsm.TOKEN_LABEL})",
    )
    lengths = softhsm.PIN_LENGTHS
    parser.add_argument(
        "--pin",
        type=_softhsm_pin if softhsm_only else str,
        default=None,
        help=(f"user PIN, {lengths[0]} to {lengths[-1]} characters" if softhsm_only else "user PIN")
        + f" (default: the test PIN {softhsm.USER_PIN})",
    )


def _module_file(text: str) -> Path:
    """A PKCS#11 module that exists, else a usage error before anything is loaded (SoftHSM
    would otherwise be reported "not installed" when only the path is wrong)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such PKCS#11 module")
    return path


def _label(text: str) -> str:
    """A token label PKCS#11 can hold (CK_TOKEN_INFO's 32 bytes): an empty one would
    quietly mean the default."""
    from conformance.token import softhsm

    size = len(text.encode("utf-8"))
    if not text.strip() or size > softhsm.LABEL_MAX:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a token label has 1 to {softhsm.LABEL_MAX} characters"
        )
    return text


def _softhsm_pin(text: str) -> str:
    """A PIN of a length SoftHSM takes, else a usage error naming the rule before SoftHSM
    answers its own "Could not get user PIN"."""
    from conformance.token import softhsm

    lengths = softhsm.PIN_LENGTHS
    size = len(os.fsencode(text))  # what softhsm2-util gets in its argv
    if size not in lengths:
        raise argparse.ArgumentTypeError(
            f"SoftHSM takes a PIN of {lengths[0]} to {lengths[-1]} characters, not {size}"
        )
    return text


def _token_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A token's refusal (wrong PIN, no such label, a file that is not a PKCS#11 module)
    is the user's to fix: one clear error line, not a traceback."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from conformance.token.base import TokenError

        try:
            return func(args)
        except TokenError as exc:
            raise UserError(str(exc)) from None

    return run


def _token_dir() -> Path:
    return paths.cache_dir() / "softhsm" / TOKEN_DIR_NAME


def _init(args: argparse.Namespace) -> int:
    from conformance.token import softhsm

    if args.module is not None:
        os.environ[softhsm.MODULE_ENV] = str(args.module)
    pki_dir: Path = args.pki if args.pki is not None else paths.PKI_DIR
    identities_dir = pki_dir / "identities"
    if not identities_dir.is_dir():
        raise UserError(
            f"{identities_dir}: no identities; build the PKI first (osm-conformance pki init)"
        )
    directories = sorted(d for d in identities_dir.iterdir() if d.is_dir())
    setup = softhsm.provision(
        directories,
        label=args.label or softhsm.TOKEN_LABEL,
        pin=args.pin or softhsm.USER_PIN,
        directory=_token_dir(),
    )
    token = setup.token()
    keys = sum(1 for o in token.objects() if _class_name(o) == "private-key")
    print(f"token {setup.label!r} in {setup.directory}: {keys} private keys")
    print(f"module: {setup.module}")
    print(f"export SOFTHSM2_CONF={setup.conf}")
    return 0


def _class_name(obj: Any) -> str:
    from pkcs11 import Attribute, ObjectClass

    names = {
        ObjectClass.PRIVATE_KEY: "private-key",
        ObjectClass.PUBLIC_KEY: "public-key",
        ObjectClass.CERTIFICATE: "certificate",
        ObjectClass.SECRET_KEY: "secret-key",
        ObjectClass.DATA: "data",
    }
    value = obj[Attribute.CLASS]
    return names.get(value, f"class 0x{int(value):x}")


def _show(args: argparse.Namespace) -> int:
    from pkcs11 import Attribute, KeyType

    from conformance.token import pkcs11 as p11
    from conformance.token import softhsm

    label = args.label
    pin = args.pin
    if args.module is None:
        softhsm.require()
        conf = _token_dir() / "softhsm2.conf"
        if not conf.is_file():
            raise UserError(f"{conf}: no token yet; run `osm-conformance token init` first")
        os.environ["SOFTHSM2_CONF"] = str(conf)
        module = softhsm.module_path()
        label = label or softhsm.TOKEN_LABEL
        pin = pin or softhsm.USER_PIN
    else:
        module = args.module
    token = p11.Pkcs11Token(module, label, pin)
    print(f"token {token.label!r} ({token.description}) in {module}")
    rows: list[tuple[str, str, str, str, str]] = []
    for obj in token.objects():
        kind = _class_name(obj)
        obj_label = str(obj[Attribute.LABEL])
        obj_id = bytes(obj[Attribute.ID]) if kind != "data" else b""
        detail = ""
        uri = ""
        if kind in ("private-key", "public-key"):
            key_type = obj[Attribute.KEY_TYPE]
            try:
                detail = KeyType(key_type).name
            except ValueError:
                detail = f"key type 0x{int(key_type):x}"
            if key_type == KeyType.RSA:
                detail += f" {len(bytes(obj[Attribute.MODULUS])) * 8}"
            if kind == "private-key":
                uri = token.uri_of(obj_label, obj_id)
        rows.append((obj_label, obj_id.hex(), kind, detail, uri))
    rows.sort(key=lambda row: (row[0], row[2]))
    for row in rows:
        print("  ".join(part for part in row if part))
    print(f"{len(rows)} objects")
    return 0
