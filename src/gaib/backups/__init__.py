"""State backups: ``gaib server backup create|list|show|restore|delete`` and ``export --backup``.

Each backup is a one-part bundle of one workspace's state (``store``); a restore rolls the state
forward as a new serial (``restore``, ``rollforward``) and shows what changes (``statediff``);
``exports`` keeps the live server's exports. ``service`` is what the CLI calls.

May use: ``tiers``, ``bundles`` and below, the ports.
"""
