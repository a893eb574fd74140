"""osm-conformance: interoperability and conformance tests for French secure health messaging."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

__version__ = "0.1.0"

# The suite reads other people's messages on purpose: DSA keys (RFC 4134's examples), a
# non-positive serial number and the like. cryptography warns about such data when it
# loads it, on stderr, among a command's answer or an agent's status lines; the suite's
# rules judge that data (docs/check-rules.md), so its warnings are noise here, whatever
# the entry point (the command line, a run's workers, the fuzzer, a library user).
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
