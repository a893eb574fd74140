"""Profiles: the shipped ones load clean, broken ones say file, line and field."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from conformance.cli import main
from conformance.core.vocabulary import CmsTransferEncoding
from conformance.paths import PROFILES_DIR
from conformance.profiles import docgen
from conformance.profiles.loader import ProfileError, lint, load_profile, load_profiles
from conformance.profiles.schema import Profile, field_paths, section_model
from conformance.smime.options import MimeOptions, ReceiveOptions, SendOptions

PRODUCTS = {
    "apimail-apicrypt",
    "apimail-smime",
    "docteur-net-cps",
    "sermentis-mms",
    "security-box-mail",
    "easycrypt-net",
    "smm",
    "sign-and-mail",
    "mmua",
    "cpsure-mail",
    "messagerie-sante-ft",
}
ENGINES = {
    "reference",
    "openssl",
    "nss",
    "gpgsm",
    "gpgsm-cps",
    "go-pkcs7",
    "gnutls",
    "pkijs",
    "bouncycastle",
}


def test_shipped_profiles_lint_clean() -> None:
    assert [str(p) for p in lint()] == []
    assert main(["profiles", "lint"]) == 0


_DOC_EXAMPLE = re.compile(r"```yaml\n(# my-profiles/(\S+\.yaml)\n.*?)```", re.S)


def test_the_profile_examples_of_the_docs_lint_clean(tmp_path: Path) -> None:
    """A profile the documentation shows (a fenced block headed `# my-profiles/NAME.yaml`)
    loads beside the shipped ones: a reader who copies it gets a working profile."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    found = [m for doc in sorted(docs.glob("*.md")) for m in _DOC_EXAMPLE.finditer(doc.read_text())]
    assert found, "no profile example in docs/"
    for match in found:
        path = tmp_path / match.group(2)
        path.write_text(match.group(1))
        assert main(["profiles", "lint", str(path)]) == 0, match.group(1)


def test_shipped_profiles_are_the_products_and_engines() -> None:
    profiles = load_profiles()
    assert set(profiles) == PRODUCTS | ENGINES
    assert "osm-2008-base" in load_profiles(include_abstract=True)
    assert profiles["openssl"].engine.type == "openssl"
    assert profiles["apimail-apicrypt"].engine.type == "apicrypt-model"


def test_source_facts_of_the_comparison_table() -> None:
    p = load_profiles()
    api = p["apimail-apicrypt"]
    assert (api.criteria.interoperability, api.criteria.compliance) == ("partial", "yes-but")
    assert (
        api.criteria.proprietary and api.criteria.macintosh and api.criteria.integration == "both"
    )
    assert api.homologation.status == "none" and api.receive.smime is None
    assert p["smm"].criteria.minimum_configuration is not None
    assert p["smm"].criteria.minimum_configuration.ram_mb == 512
    assert p["smm"].criteria.minimum_configuration.disk_mb == 100
    assert p["sign-and-mail"].criteria.minimum_configuration.ram_mb == 128  # type: ignore[union-attr]
    assert p["easycrypt-net"].criteria.installation_ease == "+++"
    assert p["easycrypt-net"].receive.apicrypt.reads == "envelope-only"
    assert p["easycrypt-net"].receive.apicrypt.holds_key
    assert p["messagerie-sante-ft"].identity.kind == "webmail"
    macs = {k for k, v in p.items() if v.criteria.macintosh}
    assert macs == {"apimail-apicrypt", "easycrypt-net", "sign-and-mail"}
    for name in PRODUCTS - {"apimail-apicrypt"}:
        assert p[name].homologation.status == "osm", name
        assert p[name].receive.apicrypt.reads == (
            "envelope-only" if name == "easycrypt-net" else "none"
        )


def test_every_product_fact_is_sourced_or_assumed() -> None:
    profiles = load_profiles()
    for profile in profiles.values():
        labels = {path: c.label if c else None for path, _, c in profile.facts()}
        assert labels["identity.name"] is not None
        assert labels["send.format"] is not None
    smm = dict((k, c) for k, _, c in profiles["smm"].facts())
    assert smm["criteria.minimum_configuration.ram_mb"].source == "comparison-table"  # type: ignore[union-attr]
    assert smm["send.signature.digest"].assumed  # type: ignore[union-attr]


def test_extends_merges_and_child_wins() -> None:
    sec = load_profile("security-box-mail")
    base = load_profile("osm-2008-base")
    assert sec.send.mime is not None and sec.send.mime.media_types == "legacy"
    assert sec.send.mime.charset == base.send.mime.charset  # type: ignore[union-attr]
    assert sec.extends == "osm-2008-base" and not sec.abstract and base.abstract


# --- broken profiles -------------------------------------------------------------------

GOOD = """\
id: foo
extends: osm-2008-base
identity:
  name: Foo
provenance:
  identity.name: {assumed: true, reason: a test}
"""

ENUMS = "'des-ede3-cbc', 'rc2-40-cbc', 'rc2-128-cbc', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', "
ENUMS += "'aes128-gcm', 'aes256-gcm'"

BROKEN: list[tuple[str, str, list[str]]] = [
    (
        "unknown key",
        GOOD.replace("  name: Foo", "  name: Foo\n  nmae: Foo"),
        [
            "foo.yaml:5: identity.nmae: unknown field (did you mean 'name'?); "
            "known: name, name_fr, vendor, kind, platforms"
        ],
    ),
    (
        "bad enum",
        GOOD + "send:\n  encryption:\n    content: aes-257\n",
        [f"foo.yaml:9: send.encryption.content: 'aes-257' is not one of {ENUMS}"],
    ),
    (
        "wrong type",
        GOOD + "receive:\n  smime:\n    require_chain: maybe\n",
        ["foo.yaml:9: receive.smime.require_chain: expected true or false, got 'maybe'"],
    ),
    (
        "wrong list item",
        GOOD + "send:\n  functions:\n    - sign\n    - fax\n",
        [
            "foo.yaml:10: send.functions[1]: 'fax' is not one of 'sign', 'encrypt', "
            "'sign-encrypt', 'hprim-net', 'attachments', 'first-contact'"
        ],
    ),
    (
        "missing field",
        GOOD.replace("extends: osm-2008-base\n", ""),
        [
            "foo.yaml:1: homologation: missing required field",
            "foo.yaml:1: send: missing required field",
            "foo.yaml:1: receive: missing required field",
            "foo.yaml:1: engine: missing required field",
            "foo.yaml:2: identity.kind: missing required field",
            "foo.yaml:2: identity.platforms: missing required field",
        ],
    ),
    (
        "bad extends",
        GOOD.replace("osm-2008-base", "osm-2009-base"),
        ["foo.yaml:2: extends: unknown profile 'osm-2009-base' (did you mean 'osm-2008-base'?)"],
    ),
    (
        "id not the file name",
        GOOD.replace("id: foo", "id: bar"),
        ["foo.yaml:1: id: 'bar' does not match the file name 'foo.yaml'"],
    ),
    ("yaml syntax", GOOD + "send: [sign\n", ["foo.yaml:8: YAML syntax error: "]),
    (
        "duplicate key",
        GOOD + "identity:\n  name: Again\n",
        ["foo.yaml:7: identity: duplicate key (first at line 3)"],
    ),
    (
        "no provenance",
        GOOD + "criteria:\n  macintosh: true\n",
        [
            "foo.yaml:8: criteria.macintosh: no provenance: cite a source or mark it assumed "
            "under provenance:"
        ],
    ),
    (
        "unknown source",
        GOOD + "  criteria: {source: a-blog}\n",
        ["foo.yaml:7: provenance.criteria.source: unknown source 'a-blog' (known: "],
    ),
    (
        "assumed without reason",
        GOOD + "  criteria: {assumed: true}\n",
        ["foo.yaml:7: provenance.criteria.reason: an assumed fact needs its reason"],
    ),
    (
        "provenance of no field",
        GOOD + "  send.colour: {assumed: true, reason: x}\n",
        ["foo.yaml:7: provenance[\"send.colour\"]: 'send.colour' is not a field of a profile"],
    ),
    (
        "inconsistent",
        GOOD + "  receive: {assumed: true, reason: a test}\n"
        "receive:\n  functions: [sign, hprim-net]\n  reads_hprim_net: false\n",
        ["foo.yaml:9: receive.functions: lists 'hprim-net' but receive.reads_hprim_net is false"],
    ),
    (
        "command without argv",
        GOOD + "  engine: {assumed: true, reason: a test}\nengine:\n  type: command\n",
        ["foo.yaml:8: engine.argv: required when engine.type is command"],
    ),
    (
        "several errors at once",
        GOOD + "quirks:\n  receive_max_message_bytes: -1\n  send_micalg_case: UPPER\n",
        [
            "foo.yaml:8: quirks.receive_max_message_bytes: input should be greater than 0 (got -1)",
            "foo.yaml:9: quirks.send_micalg_case: 'UPPER' is not one of 'lower', 'upper'",
        ],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_profile_messages(tmp_path: Path, case: str, text: str, expected: list[str]) -> None:
    path = tmp_path / "foo.yaml"
    path.write_text(text, encoding="utf-8")
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint([path])]
    assert len(got) == len(expected), got
    for line, want in zip(sorted(got), sorted(expected), strict=True):
        assert line.startswith(want), (line, want)
    with pytest.raises(ProfileError) as info:
        load_profiles([path])
    assert len(info.value.problems) == len(expected)


def test_inherited_error_points_at_the_base(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        (PROFILES_DIR / "osm-2008-base.yaml")
        .read_text(encoding="utf-8")
        .replace("id: osm-2008-base", "id: base")
        .replace("digest: sha1", "digest: md5"),
        encoding="utf-8",
    )
    (tmp_path / "child.yaml").write_text(
        GOOD.replace("id: foo", "id: child").replace("osm-2008-base", "base"), encoding="utf-8"
    )
    problems = [str(p).replace(f"{tmp_path}/", "") for p in lint([tmp_path / "child.yaml"])]
    assert len(problems) == 1
    text = (tmp_path / "base.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if "digest: md5" in t)
    assert problems[0].startswith(f"base.yaml:{line}: send.signature.digest: 'md5' is not one of")


def test_extends_cycle(tmp_path: Path) -> None:
    for me, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{me}.yaml").write_text(
            GOOD.replace("id: foo", f"id: {me}").replace("osm-2008-base", other), encoding="utf-8"
        )
    got = sorted(str(p).replace(f"{tmp_path}/", "") for p in lint([tmp_path]))
    assert got == ["a.yaml:2: extends: cycle a -> b -> a", "b.yaml:2: extends: cycle b -> a -> b"]


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    for sub in ("one", "two"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "foo.yaml").write_text(GOOD, encoding="utf-8")
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint([tmp_path / "one", tmp_path / "two"])]
    assert got == ["two/foo.yaml:1: id: duplicate profile id 'foo': one/foo.yaml and two/foo.yaml"]


def test_lint_command_exit_code_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "foo.yaml"
    path.write_text(GOOD + "send:\n  encryption:\n    content: aes-257\n", encoding="utf-8")
    assert main(["profiles", "lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:9: send.encryption.content: 'aes-257' is not one of" in out
    assert "Traceback" not in out
    path.write_text(GOOD, encoding="utf-8")
    assert main(["profiles", "lint", str(path)]) == 0


def test_profile_errors_are_user_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "show", "no-such-product"]) == 2
    assert "unknown profile 'no-such-product'" in capsys.readouterr().err


# --- commands -----------------------------------------------------------------------------


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert "easycrypt-net" in out and "Groupe Sephira" in out and "not-applicable" in out
    assert main(["profiles", "show", "mmua"]) == 0
    shown = capsys.readouterr().out
    assert "extends: osm-2008-base" in shown and "digest: sha1" in shown


def test_new_writes_a_profile_that_lints_clean(tmp_path: Path) -> None:
    assert (
        main(["profiles", "new", "acme-mail", "--from", "easycrypt-net", "--dir", str(tmp_path)])
        == 0
    )
    path = tmp_path / "acme-mail.yaml"
    assert lint([path]) == []
    profile = load_profile(str(path))
    assert profile.extends == "easycrypt-net" and profile.receive.apicrypt.holds_key
    assert (
        main(["profiles", "new", "acme-mail", "--from", "easycrypt-net", "--dir", str(tmp_path)])
        == 2
    )


def test_schema_file_in_sync() -> None:
    assert docgen.SCHEMA_FILE.read_text(encoding="utf-8") == docgen.schema_json(), (
        "run `osm-conformance profiles schema --write`"
    )
    assert json.loads(docgen.schema_json())["additionalProperties"] is False


def test_docs_field_reference_in_sync() -> None:
    text = docgen.DOCS_FILE.read_text(encoding="utf-8")
    assert docgen.field_reference() in text, "run `osm-conformance profiles docs --write`"
    for path in field_paths():
        assert f"`{path}`" in text, path


# --- the engine accepts every value the schema allows ---------------------------------------


def _allowed(annotation: Any) -> list[Any]:
    """Sample values of a leaf type: every Literal value, both booleans, a number."""
    if hasattr(annotation, "__metadata__"):
        return _allowed(annotation.__origin__)
    if str(get_origin(annotation)) == "typing.Literal":
        return list(get_args(annotation))
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list:
        return [[v] for v in _allowed(args[0])] + [[]]
    if args:
        return [v for a in args for v in _allowed(a)] + (
            [None] if type(None) in get_args(annotation) else []
        )
    samples: dict[Any, list[Any]] = {bool: [True, False], int: [1, 10_000_000], float: [0.5]}
    return samples.get(annotation, [])


def _leaf_fields(model: Any, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for name, info in model.model_fields.items():
        sub = section_model(info.annotation)
        if sub is not None:
            out += _leaf_fields(sub, (*prefix, name))
        else:
            out.append(((*prefix, name), info.annotation))
    return out


def _options_leaves(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out |= _options_leaves(value, f"{prefix}{f.name}.")
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def _with(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(data))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


def test_engine_accepts_every_value_and_mapping_is_one_to_one() -> None:
    base = load_profile("reference").model_dump(mode="json")
    send0 = _options_leaves(Profile.model_validate(base).send_options())
    recv0 = _options_leaves(Profile.model_validate(base).receive_options())
    driven: set[str] = set()
    checked = 0
    sections = [
        ("send", Profile.model_fields["send"]),
        ("receive", Profile.model_fields["receive"]),
        ("quirks", Profile.model_fields["quirks"]),
    ]
    for name, info in sections:
        model = section_model(info.annotation)
        for path, annotation in _leaf_fields(model, (name,)):
            if (
                path[-1] in ("format", "functions", "apicrypt_functions", "reads_hprim_net")
                and len(path) == 2
            ):
                continue  # what it sends/reads, not how: not engine options
            if path[:2] == ("receive", "apicrypt"):
                continue  # the Apicrypt model's options, not the S/MIME engine's
            for value in _allowed(annotation):
                if value is None and path[0] == "send":
                    continue  # null S/MIME parts mean "sends no S/MIME" (checked elsewhere)
                profile = Profile.model_validate(_with(base, path, value))
                send = _options_leaves(profile.send_options())
                recv = _options_leaves(profile.receive_options())
                driven |= {f"send:{k}" for k, v in send.items() if v != send0[k]}
                driven |= {f"receive:{k}" for k, v in recv.items() if v != recv0[k]}
                checked += 1
    assert checked > 80
    single_valued = {"send:mime.cms_transfer_encoding"}
    # Set by the run's policy (agents.profiled.under_policy, tests/test_receive_policy.py).
    policy_driven = {"receive:min_rsa_bits", "receive:refused_certificate_digests"}
    every = {f"send:{k}" for k in send0} | {f"receive:{k}" for k in recv0}
    assert every - driven == single_valued | policy_driven


def test_profile_types_are_the_engine_types() -> None:
    assert CmsTransferEncoding == get_type_hints(MimeOptions)["cms_transfer_encoding"]
    assert isinstance(load_profile("reference").send_options(), SendOptions)
    assert load_profile("reference").send_options() == SendOptions()  # the engine's defaults
    assert isinstance(load_profile("nss").receive_options(), ReceiveOptions)
    assert load_profile("nss").receive_options().ciphers is None  # observed, not declared
    with pytest.raises(ValueError, match="sends no S/MIME"):
        load_profile("apimail-apicrypt").send_options()
    with pytest.raises(ValueError, match="reads no S/MIME"):
        load_profile("apimail-apicrypt").receive_options()


def test_capabilities() -> None:
    p = load_profiles()
    assert "hprim-net" not in p["apimail-apicrypt"].capabilities().send
    assert "hprim-net" not in p["apimail-apicrypt"].capabilities().receive
    assert p["smm"].capabilities().receive == frozenset(
        {"sign", "encrypt", "sign-encrypt", "hprim-net", "attachments", "first-contact"}
    )


def test_yaml_words_stay_words(tmp_path: Path) -> None:
    path = tmp_path / "foo.yaml"
    path.write_text(
        GOOD + "criteria:\n  interoperability: yes\n  macintosh: yes\n  integration: relay\n",
        encoding="utf-8",
    )
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint([path])]
    assert any("criteria.macintosh: expected true or false, got 'yes'" in g for g in got), got
    assert not any("interoperability: expected" in g or "'yes' is not one" in g for g in got), got
