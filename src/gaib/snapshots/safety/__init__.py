"""The community-safety parts of a snapshot: AutoMod rules, onboarding, the welcome screen, scheduled
events and soundboard sounds — what they hold (:mod:`~gaib.snapshots.safety.parts`), how they are read
from Discord (:mod:`~gaib.snapshots.safety.capture`), planned (one module per part family:
:mod:`~gaib.snapshots.safety.automod`, :mod:`~gaib.snapshots.safety.onboarding` with the welcome screen,
:mod:`~gaib.snapshots.safety.events`, :mod:`~gaib.snapshots.safety.soundboard`; together
:mod:`~gaib.snapshots.safety.plan`) and put back (:mod:`~gaib.snapshots.safety.apply`).

The server settings these parts sit beside (the community channels, description, splashes) live in the
``guild`` part with the other settings (:mod:`gaib.snapshots.community_plan`).
"""
