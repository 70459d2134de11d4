"""The inotuzumab ozogamicin (BESPONSA) CDS Hooks service.

Imports flow one way: knowledge -> patient -> rules -> assessment -> cards -> pipeline -> services -> app.
Everything clinical (codes, thresholds, label text, sources) is data in ``knowledge/``.
"""
