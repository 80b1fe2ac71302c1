"""Scheduled runs: ``gaib server backup run-scheduled`` (the ECS task) and ``gaib server schedule``.

A window of a tier's schedule is split between any number of tasks with no coordinator: blocks of
the listing (``blocks``), one claim per server (``claims``), the servers' stored schedules
(``schedules``), metrics as CloudWatch EMF lines (``metrics``). ``verify`` re-reads stored backups and
snapshots (on demand, or a whole tier as a scheduled operation with its heartbeat and metrics).

May use: every capability below it (``prune``, ``snapshots``, ``deployments``, ``backups``,
``tiers``, ``bundles``) and the ports (``gaib.ports.RunPorts``).
"""
