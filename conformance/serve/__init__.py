"""`osm-conformance serve`: the suite as the mail server of a product it cannot drive.

A higher layer: it starts the SMTP submission server and the mail store of
conformance.mail, drops the messages `vectors export` makes into the product's
inbox, judges what the product sends with the validator and the `reference`
receiver, and keeps the tester's record in the format `vectors import` reads.
"""
