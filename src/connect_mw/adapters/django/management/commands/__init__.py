"""``connect_mw_replay`` and ``connect_mw_worker``."""
