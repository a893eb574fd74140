"""The functions a product offers, and the security services each must deliver.

A function is what a user does (send a signed letter, an HPRIM result, a
letter with attachments); the operation is what the S/MIME engine does for it.
"""

from __future__ import annotations

from typing import Literal

from conformance.smime.options import FUNCTIONS, Function

Service = Literal["authentication", "integrity", "non_repudiation", "confidentiality"]
Operation = Literal["sign", "encrypt", "sign-encrypt"]

ALL_SERVICES: tuple[Service, ...] = (
    "authentication",
    "integrity",
    "non_repudiation",
    "confidentiality",
)

REQUIRED_SERVICES: dict[Function, tuple[Service, ...]] = {
    "sign": ("authentication", "integrity", "non_repudiation"),
    "encrypt": ("confidentiality",),
    "sign-encrypt": ALL_SERVICES,
    "hprim-net": ALL_SERVICES,  # HPRIM-Net: HPRIM signed with the CPS card and encrypted
    "attachments": ALL_SERVICES,
}

OPERATION: dict[Function, Operation] = {
    "sign": "sign",
    "encrypt": "encrypt",
    "sign-encrypt": "sign-encrypt",
    "hprim-net": "sign-encrypt",
    "attachments": "sign-encrypt",
}

__all__ = ["ALL_SERVICES", "FUNCTIONS", "OPERATION", "REQUIRED_SERVICES", "Function", "Service"]
