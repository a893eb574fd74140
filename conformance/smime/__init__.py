"""The S/MIME engine: builds and reads signed and encrypted messages under explicit options."""
