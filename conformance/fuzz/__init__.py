"""Hostile input: structure-aware mutations of real messages, judged by the receiver and
the validator; every input must get a classified answer, fast, the same every time."""
