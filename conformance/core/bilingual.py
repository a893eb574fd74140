"""A text the suite itself writes, in French and in English, made side by side.

The reports show one language per page, and what the suite generates while it
runs (a counterexample's description, a hostile message's variant) reaches them
through results.json. Such a text is built where its facts are known, so both
languages are written there, from the same values, in one expression: neither
is a translation of the other made later by string replacement, and a fact
added to one cannot be forgotten in the other without a test seeing it.

Technical identifiers inside (algorithm names, charsets, byte values, a quoted
subject) are the same in both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conformance.core.vocabulary import Function, Language

__all__ = ["FUNCTION_NAMES", "SEMICOLON", "Bilingual", "Facts"]


# The facts an English message of the suite names (a count, a line, a name), by name: what a
# lower layer records beside its message (a reader's defect, an error) so that the check
# layer words it in French from them, never from the English.
Facts = tuple[tuple[str, str | int], ...]


@dataclass(frozen=True)
class Bilingual:
    """One text in French (`fr`) and English (`en`)."""

    fr: str
    en: str

    @classmethod
    def same(cls, text: str) -> Bilingual:
        """A text that reads the same in both languages (an identifier, a number)."""
        return cls(text, text)

    def get(self, lang: Language) -> str:
        return self.fr if lang == "fr" else self.en

    def __add__(self, other: Bilingual) -> Bilingual:
        return Bilingual(self.fr + other.fr, self.en + other.en)

    def join(self, parts: Iterable[Bilingual]) -> Bilingual:
        """`parts` joined with this separator, language by language."""
        items = list(parts)
        return Bilingual(
            self.fr.join(p.fr for p in items),
            self.en.join(p.en for p in items),
        )


# French typography puts a space before a semicolon, English does not.
SEMICOLON = Bilingual(" ; ", "; ")

# What a user does, as a person reads it: the reports' labels (`fn.*`) are these.
FUNCTION_NAMES: dict[Function, Bilingual] = {
    "sign": Bilingual("signature", "sign"),
    "encrypt": Bilingual("chiffrement", "encrypt"),
    "sign-encrypt": Bilingual("signature et chiffrement", "sign and encrypt"),
    "hprim-net": Bilingual("HPRIM-Net", "HPRIM-Net"),
    "attachments": Bilingual("pièces jointes", "attachments"),
    "first-contact": Bilingual("premier contact", "first contact"),
}
