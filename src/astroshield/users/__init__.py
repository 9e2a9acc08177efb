"""Accounts: who belongs to which organisation with which role; contact fields are
encrypted at rest and erased, not hidden."""
