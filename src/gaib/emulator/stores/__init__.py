"""The emulated guild's state, one store per kind of resource, composed by :class:`gaib.emulator.guild.GuildState`.

The stores share one :class:`~gaib.emulator.stores.context.GuildContext` (guild id, id generator,
clock, revision) and reach the stores they depend on through their constructor. Contract of every
public method that takes a request body: it validates the whole input first and raises
:class:`~gaib.emulator.apierrors.ApiError` (Discord's status, code and 50035 tree) without changing
anything (except the users a seeding request names, remembered as they are read); only then does it
apply the change and call ``ctx.changed()``.
Changes that reach other stores (deleting a role or a channel) are made by ``GuildState``.
Callers hold one lock around each call: the stores are not thread-safe by themselves.
"""
