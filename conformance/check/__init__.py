"""The message validator: one message in, a verdict per numbered rule out.

    from conformance.check import run_checks
    report = run_checks(message_bytes, identity_dir=..., trust=[root_pem], policy="modern")
    report.errors, report.to_json()
    text_table(report), html_page(report)  # from conformance.check.render

Rules live in `conformance.check.rules` (one module per group), their
severities and accepted algorithms in the policies (`policies/*.yaml`).
"""

from __future__ import annotations

from conformance.check.model import Check, CheckReport, CheckStatus
from conformance.check.runner import run_checks

__all__ = ["Check", "CheckReport", "CheckStatus", "run_checks"]
