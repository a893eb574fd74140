"""`vectors export --for PROFILE`: identities and messages for a product the suite cannot drive.

Each message is really sent by another profile's agent (seeded, so a re-export
gives the same bytes where the engine draws from the seed), carried through the
in-memory transport (the Apicrypt relay included), and read by the product's
standard reader: the `reference` agent with software keys under osm-2008 (for an
Apicrypt-model message, the product's profile, the model being its only
standard). The manifest's `expected` is that reading judged exactly as a cell of
the matrix judges its basic example (`matrix.exchange`), never a table: what a
product that follows the standard shows. The product's own profile reads the
same bytes, with software keys too, for `profile_expected`: what the profile
predicts, without the limits of the token that stands in for the CPS card in the
matrix (a tester cannot act on "CKR_ARGUMENTS_BAD").

The negative corpus beside them: every rejection case's basic hostile message,
addressed to the same professional, with its expected outcome per policy (the
case's data) and what the product's profile agent did with it (the judge).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

import jinja2

from conformance import __version__
from conformance.agents import identity_files as files
from conformance.agents.base import Agent
from conformance.agents.factory import close_agent, make_agent
from conformance.agents.profiled import ProfileAgent
from conformance.core.apicrypt_mark import is_apicrypt
from conformance.core.vocabulary import PROCESS_AGENTS, Function
from conformance.errors import MissingComponent, UserError
from conformance.functions import MESSAGE_FUNCTIONS
from conformance.matrix.cast import Cast
from conformance.matrix.exchange import (
    HarnessError,
    Observation,
    Seat,
    World,
    exchange,
    read_delivered,
)
from conformance.paths import remove_listed
from conformance.pki.export import export_pki
from conformance.profiles.claims import shipped_claims
from conformance.profiles.schema import Profile
from conformance.rejections.model import load_cases
from conformance.rejections.run import Controls, Receiver, attempt, control_status
from conformance.scenarios import basic_scenario, build_entity
from conformance.scenarios.model import Scenario
from conformance.vectors.common import (
    VECTORS_SEED,
    seeded_rng,
    seeded_transport,
    sha256_file,
    shipped_profile,
    shipped_profiles,
)
from conformance.vectors.manifest import (
    MANIFEST_FILE,
    Claim,
    ExportManifest,
    NegativeVector,
    Skipped,
    Vector,
    dump,
    load_export_manifest,
)
from conformance.vectors.negative_record import NEGATIVE_COLUMNS, NEGATIVE_RECORD_FILE
from conformance.vectors.readable import readable_content

RECORD_FILE = "record.csv"
# The reader that follows the standard: the expectations of every S/MIME vector.
STANDARD_READER = "reference"
RECORD_COLUMNS = ("file", "opened", "signature", "decrypted", "content_ok", "notes")


def export_vectors(
    product: str,
    out: Path,
    *,
    senders: Sequence[str] | None = None,
    functions: Sequence[Function] | None = None,
    seed: int = VECTORS_SEED,
    keep_records: bool = False,
) -> ExportManifest:
    """Write the identities, vectors, manifest, README and record template into `out`.

    A record in `out` that holds the tester's answers is refused (UserError), or with
    `keep_records` kept as it is (`serve`: a new session in the same folder carries on
    with the same messages, made from the same seed)."""
    profiles = shipped_profiles()
    vendor = shipped_profile(product, profiles)
    chosen = list(dict.fromkeys(senders)) if senders else [p for p in profiles if p != product]
    for sender in chosen:
        shipped_profile(sender, profiles)
        if sender == product:
            raise UserError(f"--sender {sender}: the product's own profile is not a sender here")
    wanted = tuple(functions) if functions else MESSAGE_FUNCTIONS
    cast = Cast(profiles)
    vendor_from, vendor_to = cast.users(product)
    identities = [vendor_from, vendor_to, *(cast.users(s)[0] for s in chosen)]
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    answered = _answered_records(out)
    if answered and not keep_records:
        path, line = answered[0]
        raise UserError(
            f"{path}:{line}: holds the tester's answers, which a new export would replace "
            "with an empty template; move it away first (import it before, if not done: "
            "vectors import)"
        )
    export_pki(cast.pki, out, identities)  # Apicrypt-model keys included (and out checked)
    _forget_earlier_export(out)

    receiver = cast.party(vendor_to, vendor)
    certificate = files.role_certificate(receiver.identity_dir, "encrypt")
    receiver_seat = Seat(receiver, certificate, ProfileAgent(software_keys(vendor)))
    standard_seat = Seat(
        receiver, certificate, ProfileAgent(software_keys(profiles[STANDARD_READER]))
    )
    manifest = ExportManifest(
        product=product,
        recipient=vendor_to,
        recipient_email=receiver.email,
        sender_identity=vendor_from,
        seed=seed,
        date=cast.world().date,
        vectors=[],
    )
    plaintexts: dict[Function, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="osm-vectors-") as work:
        for sender in chosen:
            _export_sender(
                cast,
                profiles[sender],
                vendor,
                (standard_seat, receiver_seat),
                wanted,
                out,
                Path(work),
                manifest,
                plaintexts,
            )
    forger = identities[2] if len(identities) > 2 else vendor_from
    _export_negatives(cast, receiver_seat, forger, out, manifest)
    dump(manifest, out / MANIFEST_FILE)
    kept = {path.name for path, _ in answered}
    if RECORD_FILE not in kept:
        _write_record_template(manifest, out / RECORD_FILE)
    if NEGATIVE_RECORD_FILE not in kept:
        negative = [
            ",".join(NEGATIVE_COLUMNS),
            *(_blank(n.file, NEGATIVE_COLUMNS) for n in manifest.negatives),
        ]
        (out / NEGATIVE_RECORD_FILE).write_text("\n".join(negative) + "\n", encoding="utf-8")
    readme = tester_readme(manifest, cast, chosen, wanted)
    (out / "README.md").write_text(readme, encoding="utf-8")
    return manifest


def _answered_records(out: Path) -> list[tuple[Path, int]]:
    """The records in `out` that hold the tester's answers, with the first such line: a new
    export would put an empty template in their place, and replace the messages the
    answers are about (a real engine's are drawn anew, other bytes). An untouched
    template is rewritten."""
    records = ((RECORD_FILE, RECORD_COLUMNS), (NEGATIVE_RECORD_FILE, NEGATIVE_COLUMNS))
    found = [(out / name, _answered_line(out / name, columns)) for name, columns in records]
    return [(path, line) for path, line in found if line is not None]


def _blank(file: str, columns: Sequence[str]) -> str:
    """A record's line as the export writes it: the file, its other columns empty."""
    return file + "," * (len(columns) - 1)


def _answered_line(path: Path, columns: Sequence[str]) -> int | None:
    """The first line of a record that is not as the export wrote it (None: no such file, or
    a template as written: its header, then each line a file name and empty columns).
    Anything else counts as the tester's: answers, a spreadsheet's `;` separators or its
    Latin-1, another header (a line added in the template's shape holds no answer)."""
    if not path.is_file():
        return None
    empty = _blank("", columns)
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return 1
    for number, line in enumerate(lines, 1):
        if number == 1 and line != ",".join(columns):
            return 1
        if number > 1 and line and (not line.endswith(empty) or "," in line[: -len(empty)]):
            return number
    return None


def _forget_earlier_export(out: Path) -> None:
    """Remove the messages and plaintexts an earlier export into `out` listed (its
    manifest.json), so that the folder holds what the new manifest says and nothing more;
    other files, the vendor's own included, stay. A manifest that does not read is left
    to be overwritten."""
    try:
        earlier = load_export_manifest(out)
    except UserError:
        return
    listed = [v.file for v in earlier.vectors] + [n.file for n in earlier.negatives]
    listed += [crl for n in earlier.negatives for crl in n.crls]
    listed += [p for v in earlier.vectors for p in (v.plaintext, v.readable)]
    root = out.resolve()
    # `out` itself is never left empty: export_pki has written pki.json into it already.
    # Contained once resolved, removed as named: a listed symlink goes, never its target.
    remove_listed(out / n for n in listed if (out / n).resolve().is_relative_to(root))


def software_keys(profile: Profile) -> Profile:
    """The profile with its keys in software: its reading without the token's limits."""
    engine = profile.engine.model_copy(update={"keys": "software"})
    return profile.model_copy(update={"engine": engine})


def _label(seed: int, sender: str, product: str, function: str) -> str:
    return f"vectors/{seed}/{sender}/{product}/{function}"


def _export_sender(
    cast: Cast,
    profile: Profile,
    vendor: Profile,
    seats: tuple[Seat, Seat],
    wanted: Sequence[Function],
    out: Path,
    work: Path,
    manifest: ExportManifest,
    plaintexts: dict[Function, tuple[str, str]],
) -> None:
    standard_seat, receiver_seat = seats
    both = profile.capabilities().send & vendor.capabilities().receive
    functions = [f for f in wanted if f in both]
    party = cast.party(cast.users(profile.id)[0], profile)
    certificate = files.role_certificate(party.identity_dir, "encrypt")
    shared: Agent | None = None
    try:
        for function in functions:
            label = _label(manifest.seed, profile.id, vendor.id, function)
            try:
                if profile.engine.type in PROCESS_AGENTS:
                    if shared is None:
                        shared = make_agent(profile, workdir=work)
                    agent = shared
                else:
                    agent = make_agent(profile, workdir=work, rng=seeded_rng(label, manifest.seed))
            except MissingComponent as exc:
                manifest.skipped.append(
                    Skipped(
                        sender=profile.id, function=function, reason=f"sender unavailable: {exc}"
                    )
                )
                continue
            scenario = basic_scenario(function)
            transport = seeded_transport(label, manifest.seed)
            world = dataclasses.replace(cast.world(), transport=transport)
            try:
                obs = exchange(scenario, Seat(party, certificate, agent), receiver_seat, world)
                standard = _standard_reading(scenario, standard_seat, obs, world)
            except HarnessError as exc:
                manifest.skipped.append(
                    Skipped(sender=profile.id, function=function, reason=f"harness error: {exc}")
                )
                continue
            if obs.delivered is None:
                manifest.skipped.append(
                    Skipped(
                        sender=profile.id,
                        function=function,
                        reason=obs.reason or "nothing delivered",
                    )
                )
                continue
            rel = f"messages/{profile.id}/{function}.eml"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(obs.delivered)
            if function not in plaintexts:
                plaintexts[function] = _write_plaintext(scenario, out)
            mime, readable = plaintexts[function]
            exp = shipped_claims().expected(profile.id, vendor.id, function)
            manifest.vectors.append(
                Vector(
                    file=rel,
                    sender=profile.id,
                    sender_identity=party.identity_dir.name,
                    function=function,
                    expected="pass" if standard.ok else "fail",
                    expected_reason=standard.reason,
                    expected_services=standard.services,
                    expected_reader=(
                        vendor.id if standard is obs else f"{STANDARD_READER} (software keys)"
                    ),
                    profile_expected="pass" if obs.ok else "fail",
                    profile_reason=obs.reason,
                    claim=Claim(
                        value=exp.value, claim=exp.claim, source=exp.source, quote=exp.quote
                    )
                    if exp
                    else None,
                    plaintext=mime,
                    readable=readable,
                    sha256=sha256_file(out / rel),
                )
            )
    finally:
        if shared is not None:
            close_agent(shared)


def _standard_reading(
    scenario: Scenario, standard_seat: Seat, obs: Observation, world: World
) -> Observation:
    """The standard reader's judgement of the delivered message (the profile's own for an
    Apicrypt-model message: the model is the only standard it has)."""
    assert obs.delivered is not None
    if is_apicrypt(obs.delivered):
        return obs
    fresh = Observation(ok=False, reason=None, entity=obs.entity, delivered=obs.delivered)
    return read_delivered(scenario, standard_seat, obs.delivered, world, fresh)


def _export_negatives(
    cast: Cast, receiver_seat: Seat, forger: str, out: Path, manifest: ExportManifest
) -> None:
    """The hostile messages of every case the product's function list covers, as
    `negative/<class>/<case>.<producer>.eml`, each read by the product's profile agent
    as a rejection cell reads it; one that could not be made is listed in `skipped`.
    The CRLs of the issuers a case made (`Hostile.crls`) go beside its message as
    `<case>.<producer>.crlN.pem`, the run's evidence naming: without them a product that
    checks revocation refuses for a missing CRL, not for what the case breaks."""
    vendor = shipped_profiles()[manifest.product]
    world = cast.world()
    receiver = Receiver(
        receiver_seat.agent,
        receiver_seat.party,
        cast.party(forger, vendor),
        world.trust,
        world.crls,
    )
    receives = receiver.agent.capabilities().receive
    controls: Controls = {}
    for case in load_cases():
        if case.function not in receives:
            continue
        for producer in case.producers:
            control = control_status(case, producer, receiver, cast.pki, controls)
            found = None
            if not isinstance(control, str):
                found = attempt(case, producer, receiver, cast.pki, "osm-2008", control)
            if found is None or found.hostile is None:
                reason = found.judgement.reason if found is not None else str(control)
                where = f"negative:{case.id}:{producer}"
                manifest.skipped.append(
                    Skipped(sender=where, function=case.function, reason=reason)
                )
                continue
            stem = f"negative/{case.cls}/{case.id}.{producer}"
            rel = f"{stem}.eml"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(found.hostile.message)
            crls = []
            for name, crl in found.hostile.crl_files(stem):
                (out / name).write_bytes(crl)
                crls.append(name)
            manifest.negatives.append(
                NegativeVector(
                    file=rel,
                    case=case.id,
                    cls=case.cls,
                    function=case.function,
                    producer=producer,
                    variant=found.hostile.wording.en,
                    variant_fr=found.hostile.wording.fr,
                    expected={policy: e for policy, e in case.expected.items()},
                    breaks=list(case.breaks),
                    profile_outcome=found.judgement.outcome,
                    title=case.title["en"],
                    explanation=case.explanation["en"],
                    spec=case.spec,
                    sha256=sha256_file(out / rel),
                    crls=crls,
                )
            )


def _write_plaintext(scenario: Scenario, out: Path) -> tuple[str, str]:
    directory = out / "plaintext"
    directory.mkdir(parents=True, exist_ok=True)
    mime = f"plaintext/{scenario.function}.mime"
    readable = f"plaintext/{scenario.function}.txt"
    (out / mime).write_bytes(build_entity(scenario))
    (out / readable).write_text(readable_content(scenario), encoding="utf-8")
    return mime, readable


def _write_record_template(manifest: ExportManifest, path: Path) -> None:
    lines = [",".join(RECORD_COLUMNS)]
    lines += [_blank(v.file, RECORD_COLUMNS) for v in manifest.vectors]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tester_readme(
    manifest: ExportManifest, cast: Cast, senders: Sequence[str], functions: Sequence[str]
) -> str:
    """The README in front of the human tester, filled in for this export."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.vectors", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    recipient = cast.pki.identity(manifest.recipient)
    sender = cast.pki.identity(manifest.sender_identity)
    return env.get_template("tester-README.md.j2").render(
        product=manifest.product,
        recipient_id=recipient.id,
        recipient_name=recipient.name,
        recipient_email=recipient.email,
        sender_id=sender.id,
        sender_name=sender.name,
        sender_email=sender.email,
        vectors=manifest.vectors,
        skipped=manifest.skipped,
        negatives=manifest.negatives,
        senders=[s for s in senders if any(v.sender == s for v in manifest.vectors)],
        functions=[f for f in functions if any(v.function == f for v in manifest.vectors)],
        suite_version=__version__,
    )
