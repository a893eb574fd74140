"""A MODEL of Apicrypt, not Apicrypt.

Apicrypt's real format is secret. This package is the project's stand-in,
built so that the results the source document states come out of exchanges.
Its mechanisms are the project's choices, not facts of the source: per-user
keys issued by the association, a trusted relay that decrypts with the
sender's key and re-encrypts for the recipient's, and a signature of its own
that is not CPS-based. Every message it writes says so in its headers and armour.
"""

RELAY_ADDRESS = "relais-apicrypt@osm-test.example"
