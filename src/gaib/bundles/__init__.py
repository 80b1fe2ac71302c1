"""Bundles: how anything Gaib keeps is stored and read back, whatever its kind.

A bundle is compressed, checksummed parts plus a manifest plus a catalog item (backups, snapshots and
theme deployments are all bundles). Here: the codec, the manifest, the one writer and verified reader
(``repository``), the record every kind's store hands out (``record``: a verified manifest and its
common fields), content-addressed images (``media``), writing a bundle into a user's folder
(``download``), retention as a pure plan and the prune executor that carries a plan out.

May use: ``iac`` and below, the ports (``gaib.storage.base``, ``gaib.storage.keys``), ``gaib.errors``.
Knows nothing of tiers, of which kind a bundle is, or of Discord.
"""
