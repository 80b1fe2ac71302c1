"""Scheduled runs: ``gaib server backup run-scheduled`` (the ECS task) and ``gaib server schedule``.

``service`` is what the CLI calls: the use cases of ``run-scheduled``, ``verify`` and ``schedule``.

A window of a tier's schedule is split between any number of tasks with no coordinator: ``window``
reads a run's options (its window, its shard of the servers); ``run`` coordinates one task's pass over
the window, with blocks of the listing (``blocks``) and one claim per server (``claims``); ``jobs`` is
the work on one server (its backups or snapshot, export and prune, and when its next prune is due);
``report`` adds up the outcomes and makes the run's metrics, heartbeat item and summary event; the
servers' stored schedules are in ``schedules``, metrics as CloudWatch EMF lines in ``metrics``.
``verify`` re-reads stored backups and snapshots (on demand, or a whole tier as a scheduled operation
with its heartbeat and metrics).

May use: every capability below it (``prune``, ``snapshots``, ``deployments``, ``backups``,
``tiers``, ``bundles``) and the ports (``gaib.ports.RunPorts``).
"""
