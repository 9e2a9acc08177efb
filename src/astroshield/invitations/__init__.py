"""Invitations: organisation administrators invite e-mail addresses into their
organisation without learning whether the address has an account elsewhere."""
