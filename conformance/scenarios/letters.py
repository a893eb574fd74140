"""French letter material: sentences, names and subjects a practice really writes.

Strategies draw from these lists (hypothesis shrinks a `sampled_from` to its
first element, so the first entries are the plainest), and the basic scenarios
use them verbatim. Everything here is in ISO-8859-1 except `UTF8_ONLY`.
"""

from __future__ import annotations

SENTENCES: tuple[str, ...] = (
    "Cher confrère,",
    "Je vous adresse Mme Hélène GÉRARD pour avis cardiologique.",
    "Bien confraternellement.",
    "Patiente de 67 ans, hypertendue, traitée par périndopril.",
    "L'échographie réalisée le 12 mars montre une fraction d'éjection à 55 %.",
    "Créatininémie à 98 µmol/l, kaliémie à 4,2 mmol/l.",
    "Pas d'allergie connue ; tabagisme sevré depuis 2001.",
    "Je reste à votre disposition pour tout renseignement complémentaire.",
    "Ci-joint le compte rendu opératoire et l'ordonnance de sortie.",
    "À revoir en consultation dans trois mois, ou avant si besoin.",
    "Hémoglobine glyquée à 7,1 % ; objectif thérapeutique non atteint.",
    "Docteur François Lefèvre, médecin généraliste, 12 rue de l'Église, Besançon.",
)

SUBJECTS: tuple[str, ...] = (
    "Courrier",
    "Compte rendu de consultation",
    "Résultats d'analyses de Mme GÉRARD",
    "Avis cardiologique – urgent",  # en dash: not in ISO-8859-1, encoded word in UTF-8
    "Échographie du 12/03 : à lire",
)

# Letters a practice writes in UTF-8 only (not in ISO-8859-1).
UTF8_ONLY: tuple[str, ...] = (
    "Le cœur est de taille normale ; l'œdème a régressé.",
    "Honoraires : 25 € — réglés.",
    "« Traitement à poursuivre » selon l’avis du spécialiste.",
)

# Characters a French letter uses, for generated text (ISO-8859-1 repertoire).
FRENCH_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " .,;:!?'()-/%°µ"
    "éèêëàâäîïôöùûüçÉÈÊËÀÂÎÏÔÙÛÇ«»"
)
UTF8_EXTRA = "œŒ€’–—…"

PATIENTS: tuple[tuple[str, str], ...] = (
    ("GÉRARD", "Hélène"),
    ("MARTIN", "Jean"),
    ("LEFÈVRE", "François"),
    ("DUPRÉ", "Noël"),
    ("BÉNÉZET", "Anaïs"),
)


def basic_letter() -> str:
    """The fixed first letter: short, a few accents, CRLF line breaks, final line break."""
    return (
        "\r\n".join(
            (
                "Cher confrère,",
                "",
                "Je vous adresse Mme Hélène GÉRARD pour avis cardiologique.",
                "Créatininémie à 98 µmol/l.",
                "",
                "Bien confraternellement.",
                "Dr François Lefèvre",
            )
        )
        + "\r\n"
    )
