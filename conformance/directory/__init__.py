"""The CPS directory ("annuaire") over LDAP: a real OpenLDAP slapd loaded from the test PKI.

In 2008 a sender found the recipient's encryption certificate in the GIP-CPS
directory, an LDAP service. Here the suite builds a tree modelled on it from the
test PKI (`tree`, the assumed parts marked), serves it with its own slapd on
loopback (`slapd`), and looks certificates and CRLs up through ldap3 (`lookup`),
with every failure of a directory classified (`LookupFailure`). The in-memory
index `conformance.pki.directory` stays for unit tests; it never stands in for
this one in the matrix.
"""
