"""The rule modules, one per group of the catalogue (see `conformance.check.catalogue`)."""
