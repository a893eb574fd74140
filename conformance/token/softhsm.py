"""SoftHSM2 provisioned as a stand-in CPS card, one token directory per process.

SoftHSM fails at random when processes share a token directory, so every
process (every pytest-xdist worker) works on its own copy under
``cache_dir()/softhsm/proc-<worker>-<pid>/`` (its `tokens` a link into
/dev/shm when there is one), removed when the process exits or, if it died,
by the next process.
SoftHSM reads SOFTHSM2_CONF when the library is initialised, so this module
sets it before python-pkcs11 loads the library (or re-initialises the library
on the new directory, e.g. in a child after fork).

Importing a key costs ~12 ms on an idle disk and 100-300 ms on a busy one
(SoftHSM rewrites the object file, ftruncate included, for each attribute),
so the initialised and filled token is built once per (PKI content, label,
PINs) by a child process (the template needs its own SOFTHSM2_CONF), in
/dev/shm when it exists, and kept as ``cache_dir()/softhsm/template-<hash>/``;
each process then only copies the token files (a few milliseconds).

Test values, not secrets: token label OSM-TEST, user PIN 1234 (a CPS card
PIN has four digits), SO PIN 12345678.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import multiprocessing.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, ObjectClass
from pkcs11.util.rsa import decode_rsa_private_key
from pkcs11.util.x509 import decode_x509_certificate

from conformance import paths
from conformance.errors import MissingComponent, UserError
from conformance.token import pkcs11 as p11
from conformance.token.base import TokenError, subject_key_identifier
from conformance.token.files import (
    certificate_path,
    check_identity_dir,
    identity_id,
    key_path,
    key_roles,
    load_certificate,
    load_private_key,
)

TOKEN_LABEL = "OSM-TEST"
LABEL_MAX = 32  # bytes: PKCS#11's CK_TOKEN_INFO.label
USER_PIN = "1234"
SO_PIN = "12345678"
# The PIN lengths SoftHSM takes (its MIN_PIN_LEN and MAX_PIN_LEN, in bytes).
PIN_LENGTHS = range(4, 256)
UTIL = "softhsm2-util"
MODULE_ENV = "OSM_CONFORMANCE_SOFTHSM_MODULE"
# Bumped when the way a template is filled changes, so old templates are not reused.
TEMPLATE_FORMAT = "1"


def module_path() -> Path:
    """The SoftHSM2 library: OSM_CONFORMANCE_SOFTHSM_MODULE, else Debian's path."""
    env = os.environ.get(MODULE_ENV)
    return Path(env) if env else p11.SOFTHSM_MODULE


def available() -> bool:
    return module_path().exists() and shutil.which(UTIL) is not None


def require() -> Path:
    module = module_path()
    if not module.exists() or shutil.which(UTIL) is None:
        missing = str(module) if not module.exists() else UTIL
        raise MissingComponent(
            f"SoftHSM2 is not installed ({missing} is missing); install the Debian "
            f"package {p11.SOFTHSM_PACKAGE} (apt-get install {p11.SOFTHSM_PACKAGE})",
            code="softhsm-missing",
            values=(("missing", missing), ("package", p11.SOFTHSM_PACKAGE)),
        )
    return module


@dataclass(frozen=True)
class SoftHsmSetup:
    """A provisioned SoftHSM token: where it lives and how to log in."""

    module: Path
    conf: Path
    directory: Path
    label: str
    pin: str

    def token(self) -> p11.Pkcs11Token:
        activate(self)
        return p11.Pkcs11Token(self.module, self.label, self.pin, rw=True)


def write_conf(directory: Path) -> Path:
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
        "library.reset_on_fork = false\n",
        encoding="utf-8",
    )
    return conf


# The SOFTHSM2_CONF this process's loaded library was initialised with.
_ACTIVE: dict[str, tuple[int, Path]] = {}


def activate(setup: SoftHsmSetup) -> None:
    """Point this process's SoftHSM library at `setup.conf` (before or after loading)."""
    key = str(setup.module)
    current = _ACTIVE.get(key)
    if current == (os.getpid(), setup.conf):
        return
    initialised = p11.loaded(setup.module)  # by an activation, a fork, or a direct token
    os.environ["SOFTHSM2_CONF"] = str(setup.conf)
    lib = p11.load_library(setup.module)
    if initialised:
        # Loaded on another directory (or inherited through fork, or loaded by a direct
        # Pkcs11Token before any activation): C_Finalize then C_Initialize makes SoftHSM
        # read SOFTHSM2_CONF again.
        p11.forget_sessions(setup.module)
        lib.reinitialize()
    _ACTIVE[key] = (os.getpid(), setup.conf)


def identity_digest(directories: Sequence[Path], label: str, pin: str, so_pin: str) -> str:
    """Hash of everything that goes into a template token."""
    h = hashlib.sha256(f"{TEMPLATE_FORMAT}\0{label}\0{pin}\0{so_pin}\0".encode())
    for directory in sorted(directories, key=identity_id):
        h.update(identity_id(directory).encode() + b"\0")
        for role in key_roles(directory):
            for path in (certificate_path(directory, role), key_path(directory, role)):
                h.update(role.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def import_identity(session: Any, directory: Path) -> int:
    """Import one identity's keys and certificates unless already there; returns how many."""
    name = identity_id(directory)
    imported = 0
    for role in key_roles(directory):
        certificate = load_certificate(directory, role)
        key_id = subject_key_identifier(certificate)
        label = f"{name}-{role}"
        present = list(
            session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: key_id})
        )
        if present:
            continue
        der = load_private_key(directory, role, validate=False).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        attrs = decode_rsa_private_key(der)
        attrs.update(
            {
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.LABEL: label,
                Attribute.ID: key_id,
                # Like a CPS card: the encryption key decrypts, the others sign.
                Attribute.SIGN: role != "encrypt",
                Attribute.DECRYPT: role == "encrypt",
                Attribute.UNWRAP: role == "encrypt",
            }
        )
        session.create_object(attrs)
        cert_attrs = decode_x509_certificate(certificate.public_bytes(serialization.Encoding.DER))
        cert_attrs.update(
            {
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: label,
                Attribute.ID: key_id,
            }
        )
        session.create_object(cert_attrs)
        imported += 1
    return imported


def _init_token(conf: Path, label: str, pin: str, so_pin: str) -> None:
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    command = [UTIL, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin]
    command += ["--module", str(module_path())]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = done.stderr.strip() or done.stdout
        raise TokenError(
            f"{UTIL} --init-token failed: {said}", code="softhsm-init", values=(("said", said),)
        )


def build_template(
    target: Path, directories: Sequence[Path], label: str, pin: str, so_pin: str
) -> None:
    """Initialise a token in `target` and import the identities (in THIS process's library)."""
    conf = write_conf(target)
    _init_token(conf, label, pin, so_pin)
    setup = SoftHsmSetup(module_path(), conf, target, label, pin)
    session = setup.token().session
    for directory in directories:
        import_identity(session, directory)
    session.close()
    p11.forget_sessions(setup.module)


def ensure_template(directories: Sequence[Path], label: str, pin: str, so_pin: str) -> Path:
    """The template directory for these identities, built by a child process if missing."""
    root = paths.cache_dir() / "softhsm"
    template = root / f"template-{identity_digest(directories, label, pin, so_pin)}"
    if (template / "tokens").is_dir():
        return template
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f"building-{os.getpid()}-{template.name}"
    shutil.rmtree(scratch, ignore_errors=True)
    memory = paths.memory_dir()
    with tempfile.TemporaryDirectory(prefix="build-", dir=memory or root) as build:
        command = [sys.executable, "-m", "conformance.token.softhsm", "build-template"]
        command += ["--label", label, "--pin", pin, "--so-pin", so_pin, build]
        command += [str(d) for d in directories]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = done.stderr.strip()
            raise TokenError(
                f"building the SoftHSM template failed: {said}",
                code="softhsm-template",
                values=(("said", said),),
            )
        shutil.copytree(Path(build) / "tokens", scratch / "tokens")
    try:
        scratch.rename(template)  # atomic; another process may have won the race
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return template


def remove_copy(directory: Path) -> None:
    """Remove a token directory and, when `tokens` is a link into tmpfs, its target."""
    tokens = directory / "tokens"
    if tokens.is_symlink():
        shutil.rmtree(tokens.resolve(), ignore_errors=True)
    shutil.rmtree(directory, ignore_errors=True)


def _remove_if_owner(directory: Path, owner: int) -> None:
    if os.getpid() == owner:
        remove_copy(directory)


def copy_token(template: Path, directory: Path, *, in_memory: bool) -> Path:
    """Copy the template's token files for one process; returns its softhsm2.conf.

    With `in_memory`, `directory/tokens` is a link into tmpfs: copying ~250
    object files to a busy disk takes ~1.5 s, to tmpfs a few milliseconds.
    """
    remove_copy(directory)
    directory.mkdir(parents=True)
    memory = paths.memory_dir() if in_memory else None
    if memory is not None:
        target = Path(tempfile.mkdtemp(prefix=f"{directory.name}-", dir=memory))
        shutil.rmtree(target)
        shutil.copytree(template / "tokens", target)
        (directory / "tokens").symlink_to(target)
    else:
        shutil.copytree(template / "tokens", directory / "tokens")
    return write_conf(directory)


def process_directory() -> Path:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return paths.cache_dir() / "softhsm" / f"proc-{worker}-{os.getpid()}"


_PROC_NAME = re.compile(r"^proc-[^-]+-(\d+)(?:-[^-]+)?$")


def _remove_stale(root: Path) -> None:
    """Remove the token directories of processes that are gone (killed, or
    left through os._exit as multiprocessing children do)."""
    memory = paths.memory_dir()
    entries = list(root.glob("proc-*")) + (list(memory.glob("proc-*")) if memory else [])
    for entry in entries:
        match = _PROC_NAME.match(entry.name)
        if match is not None and paths.process_gone(int(match.group(1))):
            remove_copy(entry)


_PROCESS: dict[str, SoftHsmSetup] = {}
_IMPORTED: set[tuple[str, Path]] = set()


def provision(
    directories: Iterable[Path | str],
    *,
    label: str = TOKEN_LABEL,
    pin: str = USER_PIN,
    so_pin: str = SO_PIN,
    directory: Path | None = None,
) -> SoftHsmSetup:
    """A SoftHSM token holding these identities, for this process.

    Without `directory`, the token lives in this process's own directory (removed
    at exit); identities asked for later are imported into it. With
    `directory`, a persistent token is written there (`token init`).
    """
    require()
    dirs = [check_identity_dir(Path(d)) for d in directories]
    key = f"{os.getpid()}\0{label}\0{pin}\0{directory}"
    setup = _PROCESS.get(key)
    if setup is not None:
        missing = [d for d in dirs if (key, d) not in _IMPORTED]
        if missing:
            session = setup.token().session
            for d in missing:
                import_identity(session, d)
                _IMPORTED.add((key, d))
        return setup
    template = ensure_template(dirs, label, pin, so_pin)
    target = directory if directory is not None else process_directory()
    if directory is None:
        _remove_stale(target.parent)
        owner = os.getpid()
        # atexit for normal exits; multiprocessing's Finalize for its children,
        # which leave through os._exit. Both skip a forked child (other pid).
        atexit.register(_remove_if_owner, target, owner)
        multiprocessing.util.Finalize(None, _remove_if_owner, (target, owner), exitpriority=0)
    conf = copy_token(template, target, in_memory=directory is None)
    setup = SoftHsmSetup(module_path(), conf, target, label, pin)
    _PROCESS[key] = setup
    _IMPORTED.update((key, d) for d in dirs)
    return setup


def holds(directory: Path) -> bool:
    """Whether this process's token already holds that identity's keys."""
    return any(key.startswith(f"{os.getpid()}\0") and held == directory for key, held in _IMPORTED)


def main(argv: Sequence[str] | None = None) -> int:
    """Child-process entry point: build a template token (needs its own SOFTHSM2_CONF)."""
    parser = argparse.ArgumentParser(prog="python -m conformance.token.softhsm")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-template")
    build.add_argument("target", type=Path)
    build.add_argument("--label", required=True)
    build.add_argument("--pin", required=True)
    build.add_argument("--so-pin", required=True)
    build.add_argument("identities", nargs="*", type=Path)
    args = parser.parse_args(argv)
    try:
        build_template(args.target, args.identities, args.label, args.pin, args.so_pin)
    except (TokenError, UserError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
