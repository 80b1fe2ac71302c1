"""The theme registry: every apply and rollback recorded as a deployment, and rollback itself.

``store`` keeps deployments as immutable bundles; ``document`` is the registry document (current
deployment and recent history); ``registry`` records and reads them; ``audit`` is the append-only
audit log; ``deploy`` is ``gaib server apply`` with its deployment recorded; ``rollback`` puts an
earlier deployment back. ``service`` is what the CLI calls.

May use: ``backups``, ``tiers``, ``bundles``, ``iac``, ``themes``, ``config`` and the ports.
"""
