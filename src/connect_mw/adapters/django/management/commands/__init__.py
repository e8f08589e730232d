"""The ``manage.py`` commands of connect-mw.

``connect_mw_replay`` and ``connect_mw_worker``; the queries ``connect_mw_status``,
``connect_mw_envelopes`` and ``connect_mw_events`` (the output of ``connect-mw``'s).
"""
