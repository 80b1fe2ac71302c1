"""Everything the tests share; test folders (one per package of src/gaib, plus cross-cutting suites)
import helpers only from here, never from another test module or conftest.

- ``fixtures/``: the shared fixtures, as pytest plugins registered by tests/conftest.py (moto, the CLI
  runner, backup storage on local or moto, a guild on the emulator, a webhook receiver, the Terraform).
- Servers: ``procs`` (moto's server, the AWS test variables), ``moto_atomic`` (its launcher),
  ``emulator`` (the Discord emulator), ``webhook`` (a webhook receiver), ``discord/`` (the emulator's
  controls, API clients, the guild as a person sees it).
- Gaib driven or read past it: ``cli`` (the CLI in-process), ``store`` (backup storage settings, a
  seeded project), ``storage/`` (adapter pairs, raw storage, writers with a clock), ``state``
  (a seeded state), ``tiers``, ``fleet`` (servers registered for scheduled runs), ``sns``.
- Data and checks: ``clocks``, ``images``, ``themes``, ``raid_config``, ``terraform`` (the .tf files
  parsed), ``tree`` (folder fingerprints), ``exits`` (documented exit codes), ``paths``.
"""
