"""osm-conformance: interoperability and conformance tests for French secure health messaging."""

__version__ = "0.1.0"
