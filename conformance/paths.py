"""Where the project keeps its data, in one place so every module agrees.

What a run reads is package data, found through importlib.resources: the shipped
profiles (`conformance/data/profiles`), the test PKI (`conformance/data/pki`) and
the engine harnesses' sources (`conformance/data/harnesses`). A wheel carries the
files themselves; in a source checkout these are symbolic links to `profiles/`,
`vectors/pki/` and `harnesses/` at the root, where developers edit them, so both
read the same files by the same path.

The rest of `vectors/` (golden corpus, RFC 4134 examples) and `docs/` exist
only in a checkout: developer tools use them (`source_checkout()` says where).
Caches are per user, never inside the package (`cache_dir()`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from conformance.errors import UserError


def _package_data(name: str) -> Path:
    """A directory of package data as a file system path (installs are not zipped)."""
    found = files("conformance").joinpath("data", name)
    if not isinstance(found, Path):
        raise UserError(f"conformance/data/{name}: the package must be installed unzipped")
    return found.resolve()


PROFILES_DIR = _package_data("profiles")
PKI_DIR = _package_data("pki")
# The engine harnesses' sources (`harnesses/`): an installed suite builds them where they
# are (`make -C HARNESS_DIR/openssl`, harnesses/README.md), as tools/setup.sh does here.
HARNESS_DIR = _package_data("harnesses")

# The source checkout (meaningful only there: see source_checkout()).
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
VECTORS_DIR = REPO_DIR / "vectors"
RFC4134_DIR = VECTORS_DIR / "rfc4134"


def source_checkout(needed_for: str) -> Path:
    """The source checkout's root, for developer tools that write into it.

    An installed package has none: the error names the tool that needs one.
    """
    if not (REPO_DIR / "pyproject.toml").is_file() or not VECTORS_DIR.is_dir():
        raise UserError(f"{needed_for} works in a source checkout of osm-conformance only")
    return REPO_DIR


def cache_dir() -> Path:
    """Per-user cache (token directories, NSS databases, fuzz seeds and failures, key files
    already checked, hypothesis's storage during a run).

    OSM_CONFORMANCE_CACHE overrides it (tests and workers isolate with it); otherwise
    $XDG_CACHE_HOME/osm-conformance, by default ~/.cache/osm-conformance, in a
    checkout as for an installed package.
    """
    env = os.environ.get("OSM_CONFORMANCE_CACHE")
    if env:
        return output_folder(Path(env), "OSM_CONFORMANCE_CACHE")
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    # A CI job's HOME may be read-only: the message says how to put the cache elsewhere.
    return output_folder(root / "osm-conformance", "the cache (OSM_CONFORMANCE_CACHE moves it)")


MEMORY_ENV = "OSM_CONFORMANCE_TMPFS"  # "0": keep working files on disk
_MEMORY_ROOT = Path("/dev/shm")
_MEMORY_MIN_FREE = 1 << 30  # bytes


HYPOTHESIS_STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


def hypothesis_in_cache() -> None:
    """hypothesis keeps its Unicode table (and would keep examples) in .hypothesis/ of the
    working directory: in the user's cache instead, computed once per user rather than
    left where a command was started (or, there unwritable, computed again by each
    worker, which inherits the environment). Before hypothesis first reads it; a value
    the user set is kept. For every command that runs cells (`run`, `adapter check`)."""
    os.environ.setdefault(HYPOTHESIS_STORAGE_ENV, str(cache_dir() / "hypothesis"))


def memory_dir() -> Path | None:
    """A directory in memory (tmpfs) for short-lived working files, or None: no /dev/shm,
    less than 1 GiB free there (a container's default is 64 MiB), or OSM_CONFORMANCE_TMPFS=0.

    The agents write every message they hand to a tool, and the tool its answer, to
    files: on a disk, creating and closing one costs about 0.3 ms (the file system's
    journal), on tmpfs 0.02 ms. The SoftHSM token copies live here too.
    """
    if os.environ.get(MEMORY_ENV, "1") == "0" or not os.access(_MEMORY_ROOT, os.W_OK):
        return None
    try:
        if shutil.disk_usage(_MEMORY_ROOT).free < _MEMORY_MIN_FREE:
            return None
    except OSError:
        return None
    directory = _MEMORY_ROOT / f"osm-conformance-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    _remove_stale_scratch(directory)
    return directory


def scratch_prefix(name: str) -> str:
    """The prefix of a process's working folder in `memory_dir()` (a tempfile prefix):
    it carries the process id, so that a later process removes the folders of one that
    was killed before it could (`_remove_stale_scratch`): tmpfs is memory."""
    return f"osm-{name}-{os.getpid()}-"


# scratch_prefix's folders: osm-<name>-<pid>-<tempfile's 8 characters>.
_SCRATCH = re.compile(r"^osm-.+-(\d+)-[a-z0-9_]{8}$")
_SWEPT: set[Path] = set()


def _remove_stale_scratch(directory: Path) -> None:
    """Once per process and folder: remove the working folders of processes that are gone."""
    if directory in _SWEPT:
        return
    _SWEPT.add(directory)
    for entry in directory.iterdir():
        found = _SCRATCH.match(entry.name)
        if found is not None and process_gone(int(found.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def process_gone(pid: int) -> bool:
    """Whether no process has this id (a folder named after it is an orphan); one of
    another user, or a number no process can have, is not taken for gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        pass
    return False


def remove_listed(files: Iterable[Path]) -> None:
    """Remove these files (a symbolic link itself, never its target), then each folder
    of theirs the removal left empty, deepest first: an earlier output replaced by a
    new one, the user's own files beside it kept."""
    listed = list(files)
    for path in listed:
        if path.is_symlink() or path.is_file():
            path.unlink()
    for folder in sorted({p.parent for p in listed}, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: something else lives there
            folder.rmdir()


def output_folder(out: Path, option: str = "--out") -> Path:
    """`out` made a folder to write into, checked before any work: a UserError naming
    `option` when it is a file, cannot be created, or exists but this user cannot create
    files in it (a command must not run for minutes and then lose its results to a
    traceback)."""
    check_output_folder(out, option)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # made impossible since the check (a race), or a full disk
        raise UserError(f"{option} {out}: cannot create it ({exc.strerror or exc})") from None
    return out


def check_output_folder(folder: Path, option: str = "--out") -> None:
    """`folder` usable for an output, checked before the work (which would otherwise end in
    a traceback and lose its results) without making it: bad input leaves nothing behind.
    It is made when the results are written (`output_folder`)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder}: exists and is not a directory")
    nearest = next(p for p in (folder, *folder.parents) if p.exists())
    if not nearest.is_dir():
        raise UserError(f"{option} {folder}: cannot create it ({nearest}: not a directory)")
    if not os.access(nearest, os.W_OK | os.X_OK):
        if nearest == folder:
            raise UserError(f"{option} {folder}: cannot write into it (permission denied)")
        raise UserError(f"{option} {folder}: cannot create it ({nearest}: permission denied)")


def check_output_file(path: Path, option: str = "--out") -> None:
    """An output file writable before the work, without making it or its folder: a folder
    there, a folder that cannot be made or written into, or a file this user cannot
    overwrite is a UserError naming `option`."""
    check_output_folder(path.parent, f"{option}'s folder")
    if path.is_dir():
        raise UserError(f"{option} {path}: a directory, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{option} {path}: cannot write it (permission denied)")
