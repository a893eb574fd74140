"""Hostile input: structure-aware mutations of real messages, judged by the receiver (in
memory and from a spool) and the validator; every input must get a classified answer, fast,
the same every time, from both readers alike, with no contradiction between receiver and
validator."""
