"""The bottom layer: shared vocabulary, OID registry, MIME and CMS readers; imports nothing above it."""
