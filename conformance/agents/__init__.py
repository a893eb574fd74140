"""Agents: the senders and receivers of the matrix (profile-driven engine, Apicrypt model,
real engines, vendor adapters), all behind one protocol."""
