"""Catalog and CDM feeds: CelesTrak GP and Space-Track clients that obey the providers'
usage rules, the refresh that imports what they return into the catalog history, and the
Space-Track CDM poll (docs/feeds.md)."""
