"""Snapshots: the whole server, ``gaib server snapshot create|list|show|download|compare|restore|delete``.

``capture`` reads what a community would lose from Discord; ``parts`` says what the community parts
hold; ``store`` writes and reads snapshot bundles; ``compare`` and ``compare_parts`` tell two
snapshots apart; a restore converges the structure (``gaib.iac.converge``), then puts the community
side back (``community``: read, ``community_plan``: plan, ``community_apply``: carry out) and
replays saved messages (``replay``). ``service`` is what the CLI calls.

May use: ``deployments`` (a restore is recorded in the theme registry), ``backups``, ``tiers``,
``bundles``, ``iac`` and below, the ports.
"""
