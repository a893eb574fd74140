"""The test PKI: a root and an intermediate modelled on the health CA, test
professionals with authentication, signature and encryption certificates,
and deliberately defective identities for negative tests.

Built deterministically from a seed (`build`), stored in vectors/pki/, read
through `model` and looked up through `directory` (the "annuaire").
"""

from conformance.pki.directory import Directory
from conformance.pki.model import Identity, TestPKI, load_pki

__all__ = ["Directory", "Identity", "TestPKI", "load_pki"]
