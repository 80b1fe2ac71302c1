"""Service tiers: the policy table, which tier a server is on, quotas and schedule expressions.

``table`` is the one policy table (cadence, retention, quotas); ``manager`` holds a server's tier
item and usage and changes it; ``quota`` counts on-demand runs a day; ``cron`` computes the runs of
an EventBridge schedule expression; ``events`` publishes the services' events (each carries the
server's tier). ``service`` is what the CLI calls (``gaib server tier show|set``).

May use: ``bundles`` (retention policies), the ports and ``gaib.notify.events``.
"""
