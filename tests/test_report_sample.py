"""A realistic small run, built with the results.json models, for the report tests.

Five agents (the built-in reference, OpenSSL as a real engine, Apicrypt,
EASYCRYPT.net, Docteur Net CPS), the five functions, every kind of verdict, a
partial cell with its counterexample, contradictions, and evidence files
written beside results.json as a real run writes them. Also a hostile variant
(HTML in every field that comes from a profile or a message) and a large
synthetic run for the speed test.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance.core.vocabulary import SERVICES
from conformance.matrix.assemble import contradictions_of
from conformance.results import (
    AgentInfo,
    Cell,
    Counterexample,
    Fact,
    Pair,
    PracticeSoftware,
    Provenance,
    Results,
    RunInfo,
    Verdict,
    interop_contradicts,
    interop_of,
)

FUNCTIONS = ["sign", "encrypt", "sign-encrypt", "hprim-net", "attachments"]
REQUIRED: dict[str, list[str]] = {
    "sign": ["authentication", "integrity", "non_repudiation"],
    "encrypt": ["confidentiality"],
    "sign-encrypt": list(SERVICES),
    "hprim-net": list(SERVICES),
    "attachments": list(SERVICES),
}
SLIDE = "ESPS, « Comment choisir ? », juillet 2008 (diapositive 31)"
HOMOLOGATION = "ESPS, liste des outils homologués OSM, septembre 2008"
NO_INTEROP = "interoperability-slide: Apicrypt ↔ client de messagerie homologué OSM - Aucune"
ASSUMED_DIGEST = "SHA-1 was the digest of 2008 S/MIME tools"
ASSUMED_CIPHER = "3DES was the cipher of 2008 S/MIME tools"
ASSUMED_DIGEST_FR = "SHA-1 était le condensat des outils S/MIME de 2008"
ASSUMED_CIPHER_FR = "3DES était le chiffrement des outils S/MIME de 2008"


def _fact(value: object, source: str | None = SLIDE, assumed: bool = False) -> Fact:
    return Fact(
        value=value,
        source=None if assumed else source,
        assumed=assumed,
        note="plausible for 2008" if assumed else None,
        note_fr="plausible en 2008" if assumed else None,
    )


def agents() -> list[AgentInfo]:
    return [
        AgentInfo(
            id="reference",
            name="Référence (moteur intégré)",
            kind="builtin",
            homologation="not-applicable",
            engine="builtin",
            measurement="suite-reference",
            sends={
                "digest": "sha256",
                "content_encryption": "aes-256-gcm",
                "key_transport": "rsaes-oaep",
            },
            accepts={"content_encryption": ["aes-128-cbc", "aes-256-gcm", "des-ede3-cbc"]},
        ),
        AgentInfo(
            id="apimail-apicrypt",
            name="Apimail (Apicrypt)",
            vendor="APICEM",
            kind="client",
            homologation="none",
            engine="apicrypt-model",
            measurement="model",
            sends={"format": "apicrypt (modèle)", "relay": True},
            accepts={"format": ["apicrypt"], "hprim_net": False},
            criteria={
                "interoperability": _fact("partial"),
                "compliance": _fact("yes-but"),
                "proprietary": _fact(True),
                "macintosh": _fact(True),
                "lgc_integration": _fact("both"),
                "ease_of_installation": _fact("+++"),
                "ease_of_use": _fact("yes"),
                "minimum_configuration": _fact("Sobre"),
            },
        ),
        AgentInfo(
            id="easycrypt-net",
            name="EASYCRYPT.net",
            vendor="Sephira",
            kind="client",
            homologation="osm",
            engine="builtin",
            measurement="simulated",
            sends={
                "format": "smime",
                "signature": {"digest": "sha1", "structure": "multipart/signed"},
                "encryption": {"content": "des-ede3-cbc", "key_transport": "rsaes-pkcs1-v1_5"},
            },
            accepts={
                "content_encryption": ["des-ede3-cbc", "aes-128-cbc"],
                "apicrypt": "encryption only",
            },
            provenance={
                "sends.format": Provenance(source=SLIDE, reason="S/MIME, X.509"),
                "sends.signature.digest": Provenance(
                    assumed=True, reason=ASSUMED_DIGEST, reason_fr=ASSUMED_DIGEST_FR
                ),
                "sends.encryption.content": Provenance(
                    assumed=True, reason=ASSUMED_CIPHER, reason_fr=ASSUMED_CIPHER_FR
                ),
                "accepts.content_encryption": Provenance(
                    assumed=True, reason=ASSUMED_CIPHER, reason_fr=ASSUMED_CIPHER_FR
                ),
            },
            criteria={
                "interoperability": _fact("yes"),
                "compliance": _fact("yes"),
                "proprietary": _fact(False),
                "macintosh": _fact(True),
                "lgc_integration": _fact("integrated"),
                "ease_of_installation": _fact("+++"),
                "ease_of_use": _fact("yes"),
                "minimum_configuration": _fact("Très sobre"),
            },
        ),
        AgentInfo(
            id="docteur-net-cps",
            name="Docteur Net CPS",
            vendor="Sephira",
            kind="client",
            homologation="osm",
            engine="builtin",
            measurement="real-vectors",
            observed_by_hand=True,
            sends={
                "format": "smime",
                "signature": {"digest": "sha1"},
                "encryption": {"content": "des-ede3-cbc"},
            },
            accepts={"content_encryption": ["des-ede3-cbc", "rc2-128-cbc"]},
            criteria={
                "interoperability": _fact("yes"),
                "compliance": _fact("yes"),
                "proprietary": _fact(False),
                "macintosh": _fact(False),
                "lgc_integration": _fact("relay"),
                "ease_of_installation": _fact("++"),
                "ease_of_use": _fact("yes"),
                "minimum_configuration": _fact("Sobre", assumed=True),
            },
        ),
        AgentInfo(
            id="openssl",
            name="OpenSSL cms",
            kind="reference-engine",
            homologation="not-applicable",
            engine="openssl",
            measurement="real-engine",
            reference_engine=True,
            sends={"digest": "sha256", "content_encryption": "aes-256-cbc"},
        ),
    ]


def _verdict(sender: str, receiver: str, function: str) -> tuple[Verdict, str | None]:
    """The sample's verdicts, shaped like the source document's findings."""
    api = "apimail-apicrypt"
    if sender == api and receiver == api:
        return (
            ("unsupported", "Apicrypt does not do HPRIM-Net")
            if function == "hprim-net"
            else ("pass", None)
        )
    if api in (sender, receiver):
        other = receiver if sender == api else sender
        if other == "easycrypt-net" and function == "encrypt":
            return "pass", None
        if function == "hprim-net" and receiver == api:
            return "fail", "receiver does not read HPRIM-Net (S/MIME with the CPS)"
        return (
            "fail",
            "receiver does not read the Apicrypt stand-in format"
            if sender == api
            else "receiver does not read S/MIME",
        )
    if (sender, receiver, function) == ("docteur-net-cps", "openssl", "attachments"):
        return "partial", None
    if (sender, receiver, function) == ("docteur-net-cps", "easycrypt-net", "hprim-net"):
        return "partial", None
    if (sender, receiver, function) == ("openssl", "docteur-net-cps", "encrypt"):
        return "fail", "receiver does not accept content encryption aes-256-cbc"
    if (sender, receiver, function) == ("reference", "docteur-net-cps", "sign-encrypt"):
        return "error", "harness: the receiver's adapter timed out after 30 s"
    return "pass", None


def _evidence(root: Path, name: str, files: dict[str, str]) -> list[str]:
    folder = root / "evidence" / name
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, text in files.items():
        (folder / filename).write_text(text, encoding="utf-8")
        paths.append(f"evidence/{name}/{filename}")
    return paths


def _checks_report(root: Path, name: str) -> list[str]:
    """A validator report as the matrix writes it: JSON and HTML beside each other."""
    checks = [
        {"id": "OSM-012", "status": "SUCCESS", "title": "micalg matches the digest"},
        {"id": "OSM-031", "status": "WARNING", "title": "filename parameter encoding"},
        {"id": "MIME-001", "status": "ERROR", "title": "bare LF"},
        {"id": "MIME-001", "status": "ERROR", "title": "bare LF"},
    ]
    return _evidence(
        root,
        name,
        {
            "basic.checks.json": json.dumps({"policy": "osm-2008", "checks": checks}),
            "basic.checks.html": "<!DOCTYPE html><title>checks</title><p>MIME-001 bare LF</p>",
        },
    )


def _message(subject: str) -> str:
    return (
        f"From: pro01@test.invalid\r\nTo: pro02@test.invalid\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Cher confrère, ci-joint le compte rendu.\r\n"
    )


def sample_results(root: Path, complete: bool = True) -> Results:
    """The realistic small run; evidence files are written under `root`."""
    infos = agents()
    ids = [a.id for a in infos]
    cells: list[Cell] = []
    for s in ids:
        for r in ids:
            for f in FUNCTIONS:
                verdict, reason = _verdict(s, r, f)
                name = f"{s}__{r}__{f}"
                held: dict[str, bool] = {
                    k: verdict == "pass" and k in REQUIRED[f] for k in SERVICES
                }
                cell = Cell(
                    sender=s,
                    receiver=r,
                    function=f,
                    verdict=verdict,
                    examples=25 if verdict in ("pass", "partial") else 1,
                    reason=reason,
                    services=held,
                    services_required=REQUIRED[f],
                    duration_s=0.4,
                )
                if verdict in ("fail", "partial"):
                    cell.evidence = _evidence(
                        root,
                        name,
                        {
                            "basic.eml": _message("Compte rendu"),
                            "receiver-stderr.txt": reason or "",
                        },
                    )
                if verdict == "partial":
                    held = {k: k in ("authentication", "integrity") for k in SERVICES}
                    cell.services = held
                    cell.counterexample = Counterexample(
                        description="letter, 1 attachment named 'compte-rendu-échographie.pdf' "
                        "(RFC 2231, ISO-8859-1), body ending with trailing spaces",
                        reason="signature invalid: the receiver re-encoded the file name",
                        evidence=_evidence(
                            root,
                            name + "-cx",
                            {
                                "counterexample.eml": _message("Résultats =?utf-8?q?=C3=A9?="),
                                "received.txt": "signature: invalid\n",
                            },
                        ),
                    )
                    report = _checks_report(root, name)
                    cell.evidence += report
                    cell.checks = report[-1]
                cells.append(cell)
    # the published claims: every OSM pair full, Apicrypt <-> EASYCRYPT.net encrypt only
    for cell in cells:
        if cell.sender in ("easycrypt-net", "docteur-net-cps") and cell.receiver in (
            "easycrypt-net",
            "docteur-net-cps",
        ):
            cell.expected = "pass"
            cell.expected_source = HOMOLOGATION
            cell.contradiction = cell.verdict != "pass"
        # Apicrypt <-> an OSM client: "aucune interopérabilité", failures the source predicts
        ends = {cell.sender, cell.receiver}
        if ends == {"apimail-apicrypt", "docteur-net-cps"} and cell.function != "hprim-net":
            cell.expected, cell.expected_source = "fail", NO_INTEROP
    pairs: list[Pair] = []
    for s in ids:
        for r in ids:
            verdicts: list[str] = [c.verdict for c in cells if (c.sender, c.receiver) == (s, r)]
            pair = Pair(
                sender=s,
                receiver=r,
                interop=interop_of(verdicts, len(FUNCTIONS)),
                observed=sum(v != "error" for v in verdicts),
                functions=len(FUNCTIONS),
            )
            if {s, r} <= {"easycrypt-net", "docteur-net-cps"}:
                pair.expected, pair.expected_source = "full", HOMOLOGATION
                pair.contradiction = interop_contradicts("full", verdicts, len(FUNCTIONS))
            if {s, r} == {"apimail-apicrypt", "docteur-net-cps"}:
                pair.expected, pair.expected_source = "none", NO_INTEROP
                pair.contradiction = interop_contradicts("none", verdicts, len(FUNCTIONS))
            pairs.append(pair)
    contradictions = contradictions_of(cells, pairs)  # as a run lists them: pairs, then cells
    if not complete:
        cells = cells[: len(cells) // 2]
    return Results(
        run=RunInfo(
            seed=20080716,
            examples=25,
            started="2024-06-01T09:30:00+00:00",
            finished="2024-06-01T09:31:12+00:00" if complete else None,
            complete=complete,
            duration_s=72.4,
            suite_version="0.1.0",
            engines={"openssl": "3.0.13", "nss": "3.87", "gpgsm": "2.2.40"},
            functions=FUNCTIONS,
            settings={"rejections": False},  # a run with --no-rejections, as finish writes it
        ),
        agents=infos,
        cells=cells,
        pairs=pairs,
        contradictions=contradictions,
        practice_software=[
            PracticeSoftware(
                editor="Axilog",
                statement="Oui, intégrée à AxiSanté",
                status="yes",
                source=SLIDE.replace("31", "26"),
            ),
            PracticeSoftware(
                editor="Groupe SEPHIRA",
                statement="Oui. Docteur Net CPS est déjà commercialisé",
                status="yes",
                source=SLIDE.replace("31", "26"),
            ),
            PracticeSoftware(
                editor="Association @medulo",
                statement="Non. Choix laissé à l'utilisateur",
                status="no",
                source=SLIDE.replace("31", "26"),
            ),
        ],
    )


SCRIPT = "<script>alert(1)</script>"
HTML_SUBJECT = '<img src=x onerror="alert(2)"><b>Résultats</b>'


def hostile_results(root: Path) -> Results:
    """The sample with HTML in every field that comes from a profile or a message."""
    results = sample_results(root)
    agent = results.agents[2]
    agent.name = SCRIPT
    agent.vendor = SCRIPT
    agent.kind = SCRIPT
    agent.sends = {SCRIPT: SCRIPT}
    agent.criteria["ease_of_use"] = Fact(value=SCRIPT, source=SCRIPT)
    for cell in results.cells:
        if cell.counterexample:
            cell.counterexample.description = f"subject: {HTML_SUBJECT}"
            cell.counterexample.reason = SCRIPT
        if cell.reason:
            cell.reason = f"{cell.reason} {HTML_SUBJECT}"
        if cell.evidence:
            cell.evidence.append("javascript:alert(3)")
    results.contradictions[0].source = SCRIPT
    results.practice_software[0].statement = SCRIPT
    results.run.engines["openssl"] = SCRIPT
    return results


def large_results(n: int = 15) -> Results:
    """n x n agents x 5 functions, verdicts of every kind, for the speed test."""
    verdicts: list[Verdict] = ["pass", "pass", "pass", "partial", "fail", "unsupported", "error"]
    infos = [
        AgentInfo(
            id=f"p{i:02d}",
            name=f"Produit {i}",
            kind="client",
            homologation="osm" if i % 3 else "none",
            engine="builtin",
            measurement="simulated",
            reference_engine=i >= n - 3,
            criteria={"compliance": _fact("yes")},
        )
        for i in range(n)
    ]
    cells = []
    for i, s in enumerate(infos):
        for j, r in enumerate(infos):
            for k, f in enumerate(FUNCTIONS):
                v = verdicts[(i * 7 + j * 3 + k) % len(verdicts)]
                cells.append(
                    Cell(
                        sender=s.id,
                        receiver=r.id,
                        function=f,
                        verdict=v,
                        examples=25,
                        reason=None if v == "pass" else f"reason {i}-{j}-{k}",
                        contradiction=(i + j + k) % 17 == 0,
                        services={x: v == "pass" for x in SERVICES},
                        services_required=REQUIRED[f],
                        evidence=[f"evidence/{s.id}/{r.id}/{f}/basic.eml"],
                        counterexample=Counterexample(description="d", reason="r")
                        if v == "partial"
                        else None,
                    )
                )
    pairs = [
        Pair(
            sender=s.id,
            receiver=r.id,
            interop=interop_of(
                [c.verdict for c in cells if (c.sender, c.receiver) == (s.id, r.id)]
            ),
        )
        for s in infos
        for r in infos
    ]
    return Results(
        run=RunInfo(
            seed=1,
            examples=25,
            started="2024-06-01T00:00:00",
            complete=True,
            suite_version="0.1.0",
            functions=FUNCTIONS,
        ),
        agents=infos,
        cells=cells,
        pairs=pairs,
    )
