"""The interop matrix: every sender x receiver x function, with verdicts and evidence."""
