"""The emulator's community-safety stores: AutoMod rules, onboarding and the welcome screen, scheduled
events and soundboard sounds (:class:`SafetyStores`), and their routes (:mod:`gaib.emulator.safety.routes`).

Each store keeps its objects in Discord's response shape, checks a whole request before it changes
anything (50035 with the field tree, or the limit's own code) and calls ``ctx.changed()`` after a
change. Every limit names its source beside it.
"""
