"""Organisations: the tenants every account and every other domain's data belong to."""
