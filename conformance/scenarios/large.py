"""The large-attachment scenario: an imaging report, a letter with one series of hundreds of
megabytes (`run --large-attachment SIZE`, issue 21).

One fixed example per cell, never shrunk: what is measured is whether a product sends and
reads a message of that size at all, and its limit when it does not.
"""

from __future__ import annotations

import random
from dataclasses import replace

from conformance.core.vocabulary import Function
from conformance.scenarios.attachments import DICOM_MEDIA_TYPE, dicom_like
from conformance.scenarios.model import Attachment, Scenario
from conformance.scenarios.strategies import basic_scenario

__all__ = ["large_scenario"]


def large_scenario(function: Function, size: int) -> Scenario:
    """The function's basic example with one DICOM-like series of `size` bytes attached
    (the same bytes for a given size: drawn from a generator seeded with it)."""
    payload = random.Random(size).randbytes(max(size - 140, 0))
    series = Attachment("série scanner.dcm", DICOM_MEDIA_TYPE, dicom_like(payload))
    basic = basic_scenario(function)
    return replace(
        basic, subject="Compte rendu d'imagerie", attachments=(*basic.attachments, series)
    )
