"""Wire contracts of tiersync: records, record kinds, sync messages, directives, views, errors.

Imports nothing else of tiersync, so every other package may depend on it.
"""
