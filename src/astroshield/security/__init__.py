"""Security primitives: PII envelope encryption, blind indexes, password hashing."""
