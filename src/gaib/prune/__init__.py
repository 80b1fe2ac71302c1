"""Prune: ``gaib server backup prune`` and ``gaib server snapshot prune``, by the tier's retention.

``service`` plans a prune of one kind for one server (every catalog item read and verified, the
policy of the tier the server is on now) and executes it once; the pure plan is
``gaib.bundles.retention`` and the removing is ``gaib.bundles.prune``.

May use: ``snapshots`` and ``backups`` (how each kind's bundles are laid out), ``tiers``, ``bundles``
and the ports.
"""
