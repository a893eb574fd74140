"""HTML reports rendered from results.json alone: the matrix, the comparison table,
one sheet per product, and the diff between two runs."""

from conformance.report.render import render_report

__all__ = ["render_report"]
