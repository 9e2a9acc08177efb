"""The space-object catalog: every element set per object over time, with its provenance.

The catalog is shared, so who may change what everyone sees is the point of its design.

**Provenance.** Every element set records where it came from (``provenance``: ``feed``, a
trusted automated feed; ``platform``, a platform import through ``astroshield catalog
import`` or a platform administrator's upload; ``organisation``, an organisation's upload),
its ``source`` (file name, ``upload:<media type>``) and who sent it (``uploaded_by``: a user
id, ``cli`` or ``system``).

**Public sets and overlays.** Feed and platform sets are public. An organisation's upload
is that organisation's *overlay*: seen and used by it alone, invisible to every other
organisation (its objects too, when the public catalog does not know them), until a platform
administrator publishes it (``POST /catalog/element-sets/{id}/publish``, audited), which
makes it public for good (``published_at``/``published_by``). The public object summaries
(name, COSPAR id, regime, apsides; what search and filters read) come from public sets only.
A public set and an overlay set may share an epoch.

**Precedence** (what an organisation's analyses use: ephemeris, screening, CDM export,
maneuvers, pattern of life, proximity, intent). Its own overlay and the public sets
together, where an overlay set shadows the public sets whose epochs lie at or within one day
after its own (:data:`astroshield.catalog.precedence.OVERLAY_PREFERENCE`): the operator's own
ephemeris is usually better for its own spacecraft, so a public set replaces it only once it
is more than a day newer. The set in force at a time is the newest of these at or before it;
before the first, the earliest. Another organisation's overlay never takes part. Reads list
every set the caller may see, each saying its ``provenance`` and whether it is the caller's
``overlay``.
"""
