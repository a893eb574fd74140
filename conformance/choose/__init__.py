"""`osm-conformance choose`: the tools ranked for one practice ("Choisir pour mon cabinet").

inputs (the practice's YAML file) -> rank (the rules of the practice software table and
the matrix's verdicts) -> page (the printable page) and the JSON ranking.
"""
