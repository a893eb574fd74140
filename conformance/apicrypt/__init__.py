"""A MODEL of Apicrypt, not Apicrypt.

Apicrypt's real format is secret. This package is the project's stand-in with
the same properties as the source document describes them: per-user keys
issued by the association, a trusted relay that decrypts with the sender's key
and re-encrypts for the recipient's, and a signature of its own that is not
CPS-based. Every message it writes says so in its headers and armour.
"""

RELAY_ADDRESS = "relais-apicrypt@osm-test.example"
