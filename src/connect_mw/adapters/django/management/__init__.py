"""Management commands of the ``connect_mw`` app."""
