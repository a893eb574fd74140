"""What `check` says to a person, in French (the default, like the reports) and English.

The rules register their titles in English (`catalogue.rule`); their French
titles are here, keyed by the stable rule id, and a test requires one for every
rule. The details a rule finds (`found`, `expected`) are written by the rule
itself, in both languages side by side (`core.bilingual.Bilingual`) where it
builds them, so that the French cannot drift from the code; a text a rule
writes once (an identifier, a header's value, a lower layer's message it
quotes) is shown as it is. The core MIME reader words its defects in English
only (it knows no report): their French is here (`DEFECTS_FR`, `defect_text`;
`cms_error_text` for the CMS reader, `chain_text` for the path validator; `unsupported_text`
for an algorithm the engine does not implement, `decryption_text` for content that cannot
decrypt, `refusal_text` for a PKCS#11 module's refusal, `identifier_text` for a signer or
recipient identifier, `author_text` for a message without one author, `token_error_text` for
a key that does not open), written from each defect's code and values, never from its English; a
library's own words (pyhanko's, asn1crypto's, a PKCS#11 module's) are quoted as they are, in
« ». A check with a title of its own (the runner's parse failure) carries its French
(`Check.title_fr`). A reference in words ("OSM: the sender's address") has its French in
`REFERENCES_FR`, a policy's title in its `title_fr`. The JSON report is not translated (a
contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast, get_args

from conformance.check.model import Check
from conformance.core.author import Author, AuthorProblem
from conformance.core.bilingual import Bilingual
from conformance.core.certificates import describe_identifier, readable_name
from conformance.core.cms import ARC_BITS, CmsError, Identifier
from conformance.core.mime import Defect, DefectCode
from conformance.core.vocabulary import DEFAULT_LANGUAGE, LANGUAGES, Language
from conformance.errors import UserError
from conformance.token.base import TokenError, TokenErrorCode, UnsupportedMechanism

if TYPE_CHECKING:  # the path validator imports pyhanko: only its result is read here
    from conformance.smime.algorithms import UnsupportedAlgorithm, UnsupportedCode
    from conformance.smime.ciphers import DecryptionCode, DecryptionError
    from conformance.smime.validate import ChainReason, ChainResult

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFECTS_FR",
    "LANGUAGES",
    "REFERENCES_FR",
    "TITLES_FR",
    "Language",
    "Words",
    "author_text",
    "chain_text",
    "cms_error_text",
    "decryption_text",
    "defect_text",
    "identifier_text",
    "language",
    "refusal_text",
    "token_error_text",
    "unsupported_text",
]

# key -> (French, English)
TEXT: Final[dict[str, tuple[str, str]]] = {
    "sep": (" : ", ": "),
    "semicolon": (" ; ", "; "),
    "status.SUCCESS": ("SUCCÈS", "SUCCESS"),
    "status.ERROR": ("ERREUR", "ERROR"),
    "status.WARNING": ("AVERTISSEMENT", "WARNING"),
    "status.INFO": ("INFO", "INFO"),
    "verdict": ("Verdict", "Verdict"),
    "verdict.conformant": ("conforme", "conformant"),
    "verdict.errors": ("{errors}, {warnings}", "{errors}, {warnings}"),
    "verdict.incomplete": ("incomplet", "incomplete"),
    "verdict.unchecked": ("non vérifié : {ids}", "not checked: {ids}"),
    "count.error": ("{n} erreur", "{n} error"),
    "count.errors": ("{n} erreurs", "{n} errors"),
    "count.warning": ("{n} avertissement", "{n} warning"),
    "count.warnings": ("{n} avertissements", "{n} warnings"),
    "checks": ("{n} contrôles", "{n} checks"),
    "policy": ("Politique", "Policy"),
    "trust": ("Ancres de confiance", "Trust anchors"),
    "crls": ("LCR", "CRLs"),
    "origin.test-pki": (
        "PKI de test livrée (par défaut ; --no-default-trust pour s'en passer)",
        "the shipped test PKI (by default; --no-default-trust to go without)",
    ),
    "origin.given": ("données en argument", "given on the command line"),
    "origin.none": (
        "aucune (la chaîne et la révocation ne sont pas vérifiées)",
        "none (the chain and revocation are not checked)",
    ),
    "next_update": ("prochaine mise à jour {date}", "next update {date}"),
    "line_endings": ("Fins de ligne", "Line endings"),
    "line_endings.text": (
        "fichier enregistré en LF (comme sous Unix), vérifié tel quel et sous sa forme CRLF "
        "(celle de l'envoi, que montre le rapport) : {verified}",
        "file saved with LF (as on Unix), checked as saved and in its CRLF form (the form it "
        "is sent in, which the report shows): {verified}",
    ),
    "verifies.both": (
        "la signature se vérifie sous les deux formes",
        "the signature verifies in both forms",
    ),
    "verifies.crlf": (
        "la signature ne se vérifie que sous sa forme CRLF, pas telle qu'enregistrée",
        "the signature verifies only in its CRLF form, not as saved",
    ),
    "verifies.saved": (
        "la signature ne se vérifie que telle qu'enregistrée (LF), pas sous sa forme CRLF",
        "the signature verifies only as saved (LF), not in its CRLF form",
    ),
    "verifies.neither": (
        "la signature ne se vérifie sous aucune des deux formes",
        "the signature verifies in neither form",
    ),
    "verifies.no-signature": ("pas de signature à vérifier", "no signature to verify"),
    "part": ("partie", "part"),
    "Part": ("Partie", "Part"),
    "found": ("constaté", "found"),
    "expected": ("attendu", "expected"),
    "reference": ("référence", "reference"),
    "rule": ("Règle", "Rule"),
    "status": ("Statut", "Status"),
    "check": ("Contrôle", "Check"),
    "title": ("Contrôle du message", "Message check"),
    "no_subject": ("(sans objet)", "(no subject)"),
    "size": ("Taille", "Size"),
    "octets": ("{n} octets", "{n} octets"),
    "checks.heading": ("Contrôles", "Checks"),
    "tree.heading": ("Arborescence MIME", "MIME tree"),
    "tree.type": ("Type de contenu", "Content type"),
    "tree.params": ("Paramètres", "Parameters"),
    "tree.encoding": ("Encodage de transfert", "Transfer encoding"),
    "tree.size": ("Taille", "Size"),
    "tree.origin": ("Origine", "From"),
    "setting.heading": ("Réglages du contrôle", "What the check used"),
    "header.from": ("De", "From"),
    "header.to": ("À", "To"),
    "header.date": ("Date", "Date"),
    "header.message_id": ("Message-ID", "Message-ID"),
}

TITLES_FR: Final[dict[str, str]] = {
    "HDR-001": "From présent",
    "HDR-002": "To présent",
    "HDR-003": "Date présente et valide",
    "HDR-004": "Message-ID présent et bien formé",
    "HDR-005": "MIME-Version présent",
    "HDR-006": "Champs d'en-tête en ASCII",
    "HDR-007": "Mots encodés bien formés",
    "HDR-008": "From est l'expéditeur attendu",
    "HDR-009": "To contient le destinataire attendu",
    "HDR-010": "Bloc d'en-tête bien formé",
    "MIME-001": "Fins de ligne CRLF",
    "MIME-002": "Lignes d'au plus 998 caractères",
    "MIME-003": "Content-Type valide avec ses paramètres requis",
    "MIME-004": "Les frontières multipart délimitent les parties",
    "MIME-005": "Content-Transfer-Encoding connu et permis",
    "MIME-006": "Les parties 7bit ne contiennent que des données 7 bits",
    "MIME-007": "Le corps encodé se décode",
    "SMIME-001": "Types de média S/MIME standard",
    "SMIME-002": "smime-type présent et juste",
    "SMIME-003": "Parties CMS nommées smime.p7m / smime.p7s",
    "SMIME-004": "protocol de multipart/signed exact",
    "SMIME-005": "micalg présent",
    "SMIME-006": "micalg égal au condensé utilisé",
    "SMIME-007": "micalg en minuscules",
    "SMIME-008": "micalg avec les noms de la RFC 5751",
    "SMIME-009": "Contenu signé en 7 bits",
    "SMIME-010": "multipart/signed a un contenu et une signature",
    "SMIME-011": "Parties CMS encodées en base64",
    "SMIME-012": "Message signé ou chiffré",
    "CMS-001": "Objet CMS lisible et du bon type",
    "CMS-002": "Certificat du signataire inclus",
    "CMS-003": "Attributs signés présents",
    "CMS-004": "L'attribut message-digest correspond au contenu",
    "CMS-005": "L'attribut content-type correspond à eContentType",
    "CMS-006": "signing-time présent",
    "CMS-007": "Algorithme de condensé permis par la politique",
    "CMS-008": "Algorithme de signature permis par la politique",
    "CMS-009": "La signature se vérifie",
    "CMS-010": "Condensé du SignerInfo listé dans digestAlgorithms",
    "CMS-011": "Le SignedData a un signataire",
    "ENC-001": "Chiffrement du contenu permis par la politique",
    "ENC-002": "Transport de clé permis par la politique",
    "ENC-003": "Chiffré pour le destinataire prévu",
    "ENC-004": "Se déchiffre avec la clé du destinataire",
    "ENC-005": "Contenu chiffré protégé contre l'altération",
    "CERT-001": "Le certificat remonte à une ancre de confiance",
    "CERT-002": "Certificat valide à la date de signature",
    "CERT-003": "Certificat non révoqué",
    "CERT-004": "Le certificat de signature permet la non-répudiation",
    "CERT-005": "Le certificat de chiffrement permet le chiffrement de clé",
    "CERT-006": "L'usage étendu de clé permet la protection du courrier",
    "CERT-007": "L'adresse de l'expéditeur est celle du certificat",
    "CERT-008": "Identifiant national présent et bien formé",
    "CERT-009": "L'identifiant national n'est pas un identifiant de test",
    "CERT-010": "Taille de clé RSA et DSA permise par la politique",
    "CERT-011": "Algorithme de signature du certificat permis par la politique",
    "CERT-012": "Identifiant d'algorithme de clé publique standard",
    "CERT-013": "AC émettrices du signataire présentes dans le message",
    "CERT-014": "Numéro de série du certificat positif, d'au plus 20 octets",
    "PAY-001": "Contenu HPRIM bien formé",
    "PAY-002": "HPRIM transporté octet pour octet",
}

# The references that are words rather than a document's identifier (an RFC and its section),
# keyed by rule id: the rule's English reference beside its French, so that a reference
# changed in the rule without its French here is shown in English (and a test fails).
REFERENCES_FR: Final[dict[str, Bilingual]] = {
    "HDR-008": Bilingual("OSM : l'adresse de l'expéditeur", "OSM: the sender's address"),
    "HDR-009": Bilingual("OSM : l'adresse du destinataire", "OSM: the recipient's address"),
    "CERT-004": Bilingual(
        "OSM/CPS : clé de signature / RFC 5280 4.2.1.3", "OSM/CPS: signature key / RFC 5280 4.2.1.3"
    ),
    "CERT-008": Bilingual(
        "CPS : idNat dans le serialNumber du sujet", "CPS: idNat in the subject serialNumber"
    ),
    "CERT-009": Bilingual(
        "CPS : les cartes de test portent un idNat 8997...", "CPS: test cards use idNat 8997..."
    ),
}


# The core reader's defects (`core.mime.DefectCode`), in French, from their values; a test
# requires one for every code.
DEFECTS_FR: Final[dict[DefectCode, str]] = {
    "no-header": "la première ligne n'est pas un champ d'en-tête",
    "header-without-colon": (
        "la ligne d'en-tête {header_line} n'est pas un champ d'en-tête (pas de deux-points)"
    ),
    "non-ascii-header": "octet {byte} dans la ligne d'en-tête {header_line}",
    "header-limit": (
        "bloc d'en-tête non terminé dans ses {max} premiers octets (limite max_header_bytes)"
    ),
    "missing-boundary": "{content_type} sans paramètre boundary",
    "bad-boundary": (
        "le paramètre boundary {boundary} n'est pas fait de 1 à 70 caractères de l'ensemble de la "
        "RFC 2046"
    ),
    "boundary-too-long": "paramètre boundary de plus de {max} caractères",
    "no-delimiter": "aucune ligne de délimitation {delimiter} dans le corps",
    "unterminated-multipart": "pas de délimiteur de fin {delimiter}-- (multipart tronqué)",
    "no-parts": "multipart sans aucune partie",
    "depth-limit": (
        "imbrication de plus de {max} niveaux (limite max_depth) : parties non examinées"
    ),
    "parts-limit": "plus de {max} parties MIME (limite max_parts) : la suite n'est pas examinée",
    "bare-lf": "{count} LF isolé(s) (le premier à la ligne {line})",
    "bare-cr": "{count} CR isolé(s) (le premier à la ligne {line})",
    "long-line": "la ligne {line} a {octets} octets",
    "eight-bit-in-7bit": (
        "{count} octet(s) de 8 bits, le premier {byte} à la ligne {body_line} du corps"
    ),
    "nul-in-7bit": "octet NUL dans le corps",
    "bad-base64": "base64 non valide : l'octet {byte} n'est pas de l'alphabet",
    "bad-quoted-printable": "quoted-printable non valide : {escape} n'est pas un échappement =XX",
    "unknown-transfer-encoding": "Content-Transfer-Encoding {encoding} inconnu",
}
# A base64 body of alphabet characters only that does not decode (no `byte` value): what the
# decoder's message says is wrong is always the "=" padding or the length.
_BASE64_PADDING_FR: Final = "base64 non valide : remplissage « = » ou longueur incorrects"


def defect_text(defect: Defect) -> Bilingual:
    """What the core reader found, in both languages: its own English `message` (what the
    JSON report shows), and its French written from the defect's code and values."""
    values = dict(defect.values)
    french = DEFECTS_FR[defect.code]
    if defect.code == "bad-base64" and "byte" not in values:
        french = _BASE64_PADDING_FR
    return Bilingual(french.format(**values), defect.message)


def cms_error_text(error: CmsError) -> Bilingual:
    """Why the core CMS reader could not read an object, in both languages: its English
    `detail`, and French from its code; the ASN.1 parser's own words are quoted as they are."""
    if error.code == "empty":
        french = "objet CMS vide"
    elif error.code == "invalid-asn1":
        french = f"CMS/ASN.1 non valide (l'analyseur ASN.1 dit : « {error.value} »)"
    elif error.code == "no-content":
        french = f"ContentInfo de type {error.value} sans contenu"
    elif error.code == "large-arc":
        french = (
            f"l'OBJECT IDENTIFIER {error.value} a un arc de plus de {ARC_BITS} bits : "
            "il ne nomme aucun algorithme ni type"
        )
    else:
        french = f"« {error.detail} »"
    return Bilingual(french, error.detail)


# Why the signer's path is not valid (`smime.validate.ChainReason`), in French, from the
# result's values; {detail} is the path validator's own words, quoted.
CHAIN_FR: Final[dict[ChainReason, str]] = {
    # CERT-001 words these two itself (a valid path, no anchors); kept for every reason
    "valid": "chaîne valide jusqu'à une ancre de confiance",
    "no-trust": "aucune ancre de confiance donnée",
    "revoked": "révoqué : « {detail} »",
    "expired": "expiré : « {detail} »",
    "not-yet-valid": "pas encore valide : « {detail} »",
    "unknown-issuer": (
        "émetteur inconnu : aucun chemin jusqu'à une ancre de confiance (« {detail} »)"
    ),
    "revocation-unknown": "statut de révocation inconnu : « {detail} »",
    "weak-algorithm": "algorithme faible ou refusé dans la chaîne : « {detail} »",
    "invalid": "« {detail} »",
    "bound": "limite de la recherche de chemins atteinte : {tried} chemins essayés",
    "cannot-validate": "validation impossible : « {detail} »",
    "weak-key": "clé faible : {algorithm} {bits} bits, la politique en exige {minimum}",
    "key-usage": (
        "l'usage de clé ne permet ni digitalSignature ni nonRepudiation (RFC 8550 4.4.2)"
    ),
    "extended-key-usage": "l'usage étendu de clé n'a pas emailProtection (RFC 8550 4.4.4)",
}


def chain_text(result: ChainResult) -> Bilingual:
    """The path validator's verdict on a signer, in both languages: its English `message`,
    and French from its reason and values (pyhanko's own words quoted)."""
    values = {"detail": result.detail, **dict(result.values)}
    french = f"signataire {result.subject} : " + CHAIN_FR[result.reason].format(**values)
    if result.builder_log:
        french += f" (constructeur de chemin : « {result.builder_log} »)"
    return Bilingual(french, result.message)


# What an unsupported algorithm's detail says (`smime.algorithms.UnsupportedCode`), in French
# from its values; {said} is a parser's own words, quoted.
UNSUPPORTED_FR: Final[dict[UnsupportedCode, str]] = {
    "": "",
    "other": "« {detail} »",
    "mask-generation": "fonction de génération de masque {mgf} (pas MGF1)",
    "pss-trailer": "trailerField autre que 1",
    "pss-salt": "RSASSA-PSS-params incorrects : longueur de sel {salt} hors de 0..{max}",
    "bad-parameters": "paramètres {structure} incorrects : « {said} »",
    "rc2-no-parameters": "RC2-CBCParameter absent",
    "rc2-bits": "RC2 à {bits} bits effectifs",
    "rc2-version": "rc2ParameterVersion {version}",
    "oaep-mgf1-digest": "OAEP {digest} avec MGF1-{mgf_digest}",
    "oaep-label": "OAEP avec un label non vide",
    "oaep-digest": "OAEP avec {digest}",
    "no-gcm-parameters": "paramètres GCM absents",
}


def unsupported_text(exc: UnsupportedAlgorithm) -> Bilingual:
    """What is not supported about an algorithm (its `detail`), in both languages."""
    french = UNSUPPORTED_FR[exc.code].format(detail=exc.detail, **dict(exc.values))
    return Bilingual(french, exc.detail)


# Why content cannot decrypt (`smime.ciphers.DecryptionCode`), in French from its values.
DECRYPTION_FR: Final[dict[DecryptionCode, str]] = {
    "not-whole-blocks": "le contenu chiffré n'est pas fait de blocs entiers",
    "bad-padding": "bourrage incorrect (mauvaise clé ou contenu chiffré altéré)",
    "key-length": "{cipher} demande une clé de {expected} octets, clé reçue : {length} octets",
    "rc2-key-length": "clé RC2 de {length} octet(s) (RC2 en prend de 1 à 128)",
    "tag-mismatch": "l'étiquette d'authentification GCM ne correspond pas",
    "tag-length": "étiquette GCM de {length} octets, les paramètres disent {expected}",
    "nonce-length": "nonce GCM de {length} octets (acceptés : de {minimum} à {maximum} octets)",
    "iv-length": "IV {cipher} de {length} octets, {expected} attendus",
}


def decryption_text(exc: DecryptionError) -> Bilingual:
    """Why content cannot decrypt, in both languages (the English: the exception's)."""
    return Bilingual(DECRYPTION_FR[exc.code].format(**dict(exc.values)), str(exc))


def refusal_text(exc: UnsupportedMechanism) -> Bilingual:
    """A token's refusal of a mechanism, in both languages: French from the PKCS#11 module's
    facts (its description and CKR_* name, its own words), quoted as they are otherwise."""
    holder = "le jeton" if exc.holder == "token" else f"« {exc.holder} »"
    facts = {name: str(value) for name, value in exc.values}
    if not facts:  # no module's facts: its words quoted
        french = f"{holder} ne prend pas en charge le mécanisme « {exc.mechanism} »"
        return Bilingual(french + (f" (« {exc.detail} »)" if exc.detail else ""), str(exc))
    ckm, digest = facts["ckm"], facts["digest"]
    mechanism = f"{ckm} avec {digest}" if digest else ckm
    said = f"répond {facts['ckr']}" if facts["ckr"] else "ne le liste pas"
    french = (
        f"{holder} ne prend pas en charge le mécanisme {mechanism} (« {facts['library']} » {said})"
    )
    return Bilingual(french, str(exc))


def identifier_text(sid: Identifier) -> Bilingual:
    """A SignerIdentifier or RecipientIdentifier in both languages (the English:
    `core.certificates.describe_identifier`'s); the issuer's name is shown as it is."""
    if sid.ski is not None:
        french = f"identifiant de clé du sujet {sid.ski.hex()}"
    else:
        name = readable_name(sid.issuer)
        if name is None:
            name = f"illisible ({len(sid.issuer)} octets)"
        french = f"émetteur {name}, numéro de série {sid.serial:#x}"
    return Bilingual(french, describe_identifier(sid))


# Why a message has no one author (`core.author.AuthorProblem`), in French from its values.
AUTHOR_FR: Final[dict[AuthorProblem, str]] = {
    "": "",
    "no-from": "aucun champ From",
    "unreadable": "le champ From est illisible",
    "from-fields": "{fields} champs From",
    "no-mailbox": "From: ne contient aucune adresse",
    "no-sender": "From: contient {mailboxes} adresses et aucun champ Sender n'en désigne une",
    "sender-fields": "From: contient {mailboxes} adresses et il y a {senders} champs Sender",
    "sender-mailboxes": (
        "From: contient {mailboxes} adresses et Sender: {senders} adresse(s) au lieu d'une"
    ),
}


def author_text(written: Author) -> tuple[Bilingual, Bilingual]:
    """A message's author in both languages: why there is no one author (`problem`, "" when
    there is), and its From: mailboxes and Sender: as `Author.describe` shows them."""
    problem = Bilingual(AUTHOR_FR[written.code].format(**dict(written.values)), written.problem)
    shown = ", ".join(written.from_addresses)
    french = f"From: {shown or 'aucune'}"
    if written.by_sender:
        french += f" ; Sender: {written.address}"
    return problem, Bilingual(french, written.describe())


# Why a key does not open (`token.base.TokenErrorCode`), in French from its values; the
# English of an error without a code ("other") is quoted, as is a tool's own words ({said}).
TOKEN_FR: Final[dict[TokenErrorCode, str]] = {
    "other": "« {english} »",
    "token-kind": "{variable}={value!r} ne désigne aucun jeton (« softhsm » ou « software »)",
    "softhsm-missing": (
        "SoftHSM2 n'est pas installé ({missing} manque) ; installer le paquet Debian {package} "
        "(apt-get install {package})"
    ),
    "no-identity-dir": "{directory} n'est pas un répertoire d'identité (celui d'un export)",
    "no-certificate": "{path} : pas de certificat {role} dans ce répertoire d'identité",
    "no-key-file": "{path} : pas de clé privée {role} dans ce répertoire d'identité",
    "pin-refused": "jeton « {token} » : code PIN refusé ({ckr})",
    "login-failed": "jeton « {token} » : connexion impossible ({ckr})",
    "no-token": "aucun jeton {which} dans le module PKCS#11 {module}",
    "no-key": "jeton « {token} » : aucune clé privée {wanted}{hint}",
    "softhsm-init": "« softhsm2-util --init-token » a échoué : « {said} »",
    "softhsm-template": "la préparation du jeton SoftHSM modèle a échoué : « {said} »",
}
_ROLES_FR: Final = {
    "sign": "de signature",
    "encrypt": "de chiffrement",
    "auth": "d'authentification",
}


def _token_code(exc: Exception) -> TokenErrorCode:
    """The token code an exception records ("other": none, or a UserError's of another kind)."""
    if isinstance(exc, TokenError):
        return exc.code
    if isinstance(exc, UserError) and exc.code in get_args(TokenErrorCode):
        return cast(TokenErrorCode, exc.code)
    return "other"


def token_error_text(exc: Exception) -> Bilingual:
    """Why a key does not open, in both languages (the English: the exception's), French
    from the code and values a token error or a token's UserError records."""
    code = _token_code(exc)
    values: dict[str, str | int] = {"english": str(exc)}
    if isinstance(exc, TokenError | UserError):
        values.update(exc.values)
    if code in ("no-certificate", "no-key-file"):
        values["role"] = _ROLES_FR.get(str(values["role"]), str(values["role"]))
    elif code == "no-token":
        values["which"] = f"nommé « {values['label']} »" if values["label"] else "initialisé"
    elif code == "no-key":
        asked = [f"de libellé « {values['label']} »"] if values["label"] else []
        asked += [f"d'identifiant {values['id']}"] if values["id"] else []
        values["wanted"] = " et ".join(asked)
        values["hint"] = (
            ""
            if values["pin"]
            else " (sans code PIN : les clés privées se montrent après connexion)"
        )
    return Bilingual(TOKEN_FR[code].format(**values), str(exc))


def language(value: str) -> Language:
    """`value` as a Language, or a UserError naming the choices."""
    for known in LANGUAGES:
        if value == known:
            return known
    raise UserError(f"--lang: {value!r} is not one of {', '.join(LANGUAGES)}")


class Words:
    """The strings of one language; a missing key is a bug (KeyError in the tests)."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = language(lang)
        self._index = LANGUAGES.index(self.lang)

    def __call__(self, key: str, **params: object) -> str:
        text = TEXT[key][self._index]
        return text.format(**params) if params else text

    def status(self, status: str) -> str:
        return self(f"status.{status}")

    def title(self, rule_id: str, english: str, french: str | None = None) -> str:
        """A check's title in this language: `french` when the check has a title of its own,
        else its rule's (its English title when it has no French one: a test requires one
        for every rule, so this only protects a page from a KeyError)."""
        if self.lang != "fr":
            return english
        return french if french is not None else TITLES_FR.get(rule_id, english)

    def reference(self, rule_id: str, english: str) -> str:
        """A check's reference in this language: its rule's French reference when the check
        cites its rule's (a check citing a reference of its own keeps it)."""
        french = REFERENCES_FR.get(rule_id)
        if self.lang != "fr" or french is None or french.en != english:
            return english
        return french.fr

    def detail(self, check: Check, which: str) -> tuple[str, Language | None]:
        """A check's `found` or `expected` (`which`) in this language, and the language it
        is in: None for a text the rule wrote once (an identifier, a header's value, a
        lower layer's message), shown as it is."""
        english: str = getattr(check, which)
        french: str | None = getattr(check, f"{which}_fr")
        if french is None:
            return english, None
        return (french, "fr") if self.lang == "fr" else (english, "en")

    def count(self, n: int, noun: str) -> str:
        """ "1 erreur", "0 erreur", "2 erreurs" (French singular below 2); "1 error", "0 errors"."""
        singular = n < 2 if self.lang == "fr" else n == 1
        return self(f"count.{noun}" if singular else f"count.{noun}s", n=n)
