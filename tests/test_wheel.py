"""The built wheel, installed into a fresh virtual environment outside the checkout, runs.

What a vendor's CI does: `pip install osm-conformance-*.whl`, then `run`, `pki export`,
`check` and the pytest plugin, from a directory with no checkout around. Nothing comes
from the network (the dependencies are in the wheelhouse tools/setup.sh fills) and
nothing from the checkout (PYTHONPATH and the pip configuration are cleared, and the
test checks where `conformance` is imported from).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = REPO / ".cache" / "wheelhouse"
# What the wheel is built from: the package, and the data its symbolic links point to.
SOURCES = ("pyproject.toml", "README.md", "conformance", "profiles", "vectors/pki", "harnesses")

pytestmark = pytest.mark.skipif(
    not any(WHEELHOUSE.glob("*.whl")),
    reason=f"no wheelhouse in {WHEELHOUSE} (tools/setup.sh fills it while the network is there)",
)


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment holding the wheel, and a working directory outside it."""

    venv: Path
    cwd: Path
    env: dict[str, str]

    def run(self, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300
        )
        if ok and done.returncode != 0:
            pytest.fail(f"{' '.join(argv)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def tool(self, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv / "bin" / "osm-conformance"), *argv, ok=ok)

    def python(self, code: str) -> str:
        return self.run(str(self.venv / "bin" / "python"), "-c", code).stdout


def _clean_env(tmp: Path) -> dict[str, str]:
    """No PYTHONPATH, no pip configuration (no index, no find-links), a home of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "PIP_", "OSM_CONFORMANCE", "VIRTUAL_ENV", "XDG_"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["HOME"] = str(tmp / "home")
    env["XDG_CACHE_HOME"] = str(tmp / "xdg-cache")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in Path(p).parts
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("wheel")
    env = _clean_env(tmp)
    # The wheel is built from a copy, so the build leaves nothing in the checkout.
    source = tmp / "source"
    for name in SOURCES:
        origin, target = REPO / name, source / name
        if origin.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "osm-*-harness")
            shutil.copytree(origin, target, symlinks=True, ignore=ignore)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip"]

    def quietly(*argv: str, cwd: Path | None = None) -> None:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(argv)} -> {done.returncode}\n{done.stdout}{done.stderr}")

    quietly(
        *pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), ".", cwd=source
    )
    (built,) = dist.glob("osm_conformance-*.whl")
    venv = tmp / "venv"
    quietly(sys.executable, "-m", "venv", "--without-pip", str(venv))
    into = ["--python", str(venv / "bin" / "python")]
    quietly(*pip, *into, "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE), str(built))
    shutil.rmtree(source)
    cwd = tmp / "work"
    cwd.mkdir()
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
    yield Installed(venv, cwd, env)


def test_the_package_and_its_data_come_from_the_virtual_environment(installed: Installed) -> None:
    out = installed.python(
        "import json, conformance, conformance.paths as p\n"
        "print(json.dumps([conformance.__file__, str(p.PROFILES_DIR), str(p.PKI_DIR)]))"
    )
    site = (installed.venv / "lib").resolve()
    for where in json.loads(out):
        assert Path(where).is_relative_to(site), f"{where} is not in {site}"
        assert REPO not in Path(where).parents
    package = Path(json.loads(out)[0]).parent
    assert not (package / "data" / "profiles").is_symlink()
    assert (package / "data" / "profiles" / "reference.yaml").is_file()
    assert (package / "data" / "pki" / "pki.json").is_file()


def test_the_harness_sources_ship_and_build_where_they_are_installed(
    installed: Installed,
) -> None:
    """An installed suite builds its engine harnesses from the sources the wheel carries
    (harnesses/README.md): the sources are there, no program built in the checkout is."""
    where = installed.python("from conformance.paths import HARNESS_DIR; print(HARNESS_DIR)")
    harnesses = Path(where.strip())
    assert harnesses.is_relative_to((installed.venv / "lib").resolve())
    for source in (
        "openssl/osm_openssl_harness.c",
        "openssl/Makefile",
        "common/osm_harness.c",
        "nss/osm_nss_harness.c",
        "gpgsm/harness.py",
        "go-pkcs7/main.go",
        "pkijs/osm-pkijs.mjs",
        "pkijs/package-lock.json",
        "bouncycastle/osm-bc-harness.in",
        "README.md",
    ):
        assert (harnesses / source).is_file(), source
    assert list((harnesses / "bouncycastle" / "src").rglob("*.java"))
    assert not (harnesses / "openssl" / "osm-openssl-harness").exists()
    if shutil.which("cc") is None or not Path("/usr/include/openssl/cms.h").is_file():
        pytest.skip("no C compiler or libssl-dev here: the build itself is not tried")
    installed.run("make", "-s", "-C", str(harnesses / "openssl"))
    built = installed.python(
        "from conformance.agents.tools import built_harnesses; print(built_harnesses())"
    )
    assert "openssl" in built


def test_run_pki_export_and_check_work_from_the_wheel(installed: Installed) -> None:
    out = installed.cwd / "out"
    installed.tool(
        "run", "--sender", "reference", "--receiver", "reference", "--function", "sign",
        "--examples", "2", "--no-rejections", "--jobs", "1", "--quiet", "--out", str(out),
    )  # fmt: skip
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [c["verdict"] for c in results["cells"]] == ["pass"]
    assert (out / "index.html").is_file()

    pki = installed.cwd / "pki"
    installed.tool("pki", "export", str(pki), "--identity", "pro01")
    assert (pki / "ca" / "root.pem").is_file()
    assert (pki / "identities" / "pro01" / "identity.p12").is_file()

    (sent,) = (out / "evidence").rglob("basic.sent.eml")
    # By default `check` trusts the installed test PKI, CRLs included (fail-closed).
    good = installed.tool("check", str(sent), "--json", ok=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["trust"]["origin"] != "none", good.stdout
    tampered = installed.cwd / "tampered.eml"
    tampered.write_bytes(_tamper(sent.read_bytes()))
    bad = installed.tool("check", str(tampered), ok=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr

    # Caches go to $XDG_CACHE_HOME, never into the installed package.
    site = installed.venv / "lib"
    assert not [p for p in site.rglob(".cache") if p.is_dir()]


def _tamper(raw: bytes) -> bytes:
    """The first letter of the signed text in the other case: the signature no longer holds."""
    part = raw.index(b"Content-Type: text/plain")
    body = re.compile(rb"\r?\n\r?\n").search(raw, part)
    assert body is not None
    at = body.end()
    return raw[:at] + raw[at : at + 1].swapcase() + raw[at + 1 :]


def test_profiles_new_writes_into_the_working_directory(installed: Installed) -> None:
    installed.tool("profiles", "new", "acme-mail", "--from", "openssl")
    assert (installed.cwd / "profiles" / "acme-mail.yaml").is_file()
    listed = installed.tool("profiles", "list", "profiles/acme-mail.yaml").stdout
    assert "acme-mail" in listed


def test_commands_that_rewrite_a_checkout_say_they_need_one(installed: Installed) -> None:
    refused = installed.tool("pki", "init", ok=False)
    assert refused.returncode == 2
    assert "pki init without --dir works in a source checkout" in refused.stderr
    assert not list(installed.venv.glob("lib/python*/site-packages/vectors"))
    refused = installed.tool("schemas", "--write", ok=False)
    assert refused.returncode == 2
    assert "schemas --write (it refreshes docs/) works in a source checkout" in refused.stderr
    assert not list(installed.venv.glob("lib/python*/site-packages/docs"))


def test_the_pytest_plugin_runs_a_vendor_test_file(installed: Installed) -> None:
    tests = installed.cwd / "vendor-ci"
    tests.mkdir()
    (tests / "test_osm.py").write_text(
        "from conformance.matrix.test_matrix import test_cell  # the matrix's cells\n",
        encoding="utf-8",
    )
    out = tests / "osm-results"
    done = installed.run(
        str(installed.venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str(tests / "test_osm.py"), "--osm-matrix", "--osm-sender", "reference",
        "--osm-receiver", "reference", "--osm-function", "encrypt", "--osm-examples", "1",
        f"--osm-out={out}",
    )  # fmt: skip
    assert "1 passed" in done.stdout, done.stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(c["function"], c["verdict"]) for c in results["cells"]] == [("encrypt", "pass")]
