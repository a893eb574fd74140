"""`python -m conformance.fuzz`: see conformance/fuzz/cli.py."""

import sys

from conformance.fuzz.cli import main

sys.exit(main())
