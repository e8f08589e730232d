"""Adapters that mount a :class:`~connect_mw.Receiver` in a server or framework.

Each one translates its framework's request into :class:`connect_mw.http.Request`, reads
the body once with the receiver's size limit and read timeout, and translates the core's
:class:`connect_mw.http.Response` back. No business rules live here.
"""
