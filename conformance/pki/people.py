"""Who is in the test PKI: a fixed roster of invented professionals.

The names are common French names picked by hand; any likeness to a real
professional is chance. Identifiers follow the idNat shape of test CPS cards
(see `idnat`), mail addresses live under the reserved test domain
osm-test.example (RFC 2606 reserves .example).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAIL_DOMAIN = "osm-test.example"

# (given name, surname): 32 for the valid identities, then one per defect.
NAMES: tuple[tuple[str, str], ...] = (
    ("Camille", "Martin"),
    ("Hélène", "Lefèvre"),
    ("Jérôme", "Bernard"),
    ("Chloé", "Dubois"),
    ("François", "Moreau"),
    ("Élodie", "Laurent"),
    ("Benoît", "Girard"),
    ("Gaëlle", "Roux"),
    ("Mathieu", "Fournier"),
    ("Sophie", "Mercier"),
    ("Nicolas", "Blanc"),
    ("Aurélie", "Guérin"),
    ("Thierry", "Faure"),
    ("Isabelle", "André"),
    ("Stéphane", "Lambert"),
    ("Céline", "Bonnet"),
    ("Olivier", "Chevalier"),
    ("Nathalie", "Perrin"),
    ("Julien", "Morel"),
    ("Valérie", "Gauthier"),
    ("Pierre-Yves", "Le Gall"),
    ("Anne-Sophie", "Rousseau"),
    ("Frédéric", "Vincent"),
    ("Émilie", "Fontaine"),
    ("Laurent", "Garnier"),
    ("Delphine", "Caron"),
    ("Sébastien", "Picard"),
    ("Marie-Noëlle", "Denis"),
    ("Guillaume", "Lemaire"),
    ("Agnès", "Renaud"),
    ("Yannick", "Kervella"),
    ("Béatrice", "Brunet"),
    # defective identities
    ("Xavier", "Barbier"),
    ("Mélanie", "Arnaud"),
    ("Rémi", "Masson"),
    ("Lucie", "Hoarau"),
    ("Grégoire", "Dupuis"),
    ("Inès", "Benali"),
    ("Damien", "Colin"),
    ("Maëlys", "Royer"),
    ("Hervé", "Lacroix"),
)

PROFESSIONS: tuple[str, ...] = (
    "médecin",
    "biologiste",
    "radiologue",
    "pharmacien",
    "infirmier",
    "sage-femme",
    "chirurgien-dentiste",
    "masseur-kinésithérapeute",
)

VALID_COUNT = 32


@dataclass(frozen=True)
class Person:
    id: str
    given_name: str
    surname: str
    profession: str
    idnat: str
    email: str
    defect: str | None

    @property
    def name(self) -> str:
        """The usual CPS display form: given name then surname in capitals."""
        return f"{self.given_name} {self.surname.upper()}"


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 0:  # doubled positions, counting from the future check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def idnat(number: int) -> str:
    """The 12-digit idNat of test professional `number`.

    Layout: "8" (idNat type: RPPS) + an 11-digit RPPS-shaped number
    "997" + 7-digit sequence + Luhn check digit. All therefore begin with
    8997, the prefix of test CPS cards.
    """
    if not 0 <= number < 10**7:
        raise ValueError(f"test professional number out of range: {number}")
    rpps = f"997{number:07d}"
    return "8" + rpps + _luhn_digit(rpps)


def mail_local_part(given_name: str, surname: str) -> str:
    """ASCII local part: accents dropped, spaces to hyphens, lower case."""
    text = f"{given_name}.{surname}".replace(" ", "-").replace("'", "")
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c)).lower()


def roster(defects: tuple[str, ...]) -> list[Person]:
    """The valid professionals pro01..pro32, then `defect-<name>` per defect."""
    if VALID_COUNT + len(defects) > len(NAMES):
        raise ValueError("not enough names for the roster")
    ids = [f"pro{i:02d}" for i in range(1, VALID_COUNT + 1)]
    ids += [f"defect-{d}" for d in defects]
    kinds: list[str | None] = [None] * VALID_COUNT + list(defects)
    people = []
    for index, (ident, defect) in enumerate(zip(ids, kinds, strict=True)):
        given, surname = NAMES[index]
        people.append(
            Person(
                id=ident,
                given_name=given,
                surname=surname,
                profession=PROFESSIONS[index % len(PROFESSIONS)],
                idnat=idnat(index + 1),
                email=f"{mail_local_part(given, surname)}@{MAIL_DOMAIN}",
                defect=defect,
            )
        )
    return people
