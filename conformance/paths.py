"""Where the project keeps its data, in one place so every module agrees."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
PROFILES_DIR = REPO_DIR / "profiles"
VECTORS_DIR = REPO_DIR / "vectors"
PKI_DIR = VECTORS_DIR / "pki"
RFC4134_DIR = VECTORS_DIR / "rfc4134"


def cache_dir() -> Path:
    """Per-user cache (token directories, NSS databases); never committed.

    OSM_CONFORMANCE_CACHE overrides it, so that tests and workers can isolate.
    """
    env = os.environ.get("OSM_CONFORMANCE_CACHE")
    base = Path(env) if env else REPO_DIR / ".cache"
    base.mkdir(parents=True, exist_ok=True)
    return base
