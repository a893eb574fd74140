"""Rejections: the hostile messages a receiver must refuse, their cases as data, and the judge."""
