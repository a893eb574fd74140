"""Real mail (issue 18): SMTP hops on loopback, gateways that rewrite as real ones do, a
Postfix hop, Dovecot mailboxes, and `serve`. A lower layer: it knows messages as bytes and
addresses as strings, nothing of agents, profiles or the matrix."""
