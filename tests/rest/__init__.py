"""Tests of ``connect_mw.rest`` against a local fake of DocuSign (``fake_esign``).

A package (unlike the other test folders) so that its ``conftest`` and helpers have module
names of their own (``rest.conftest``) for pytest and mypy alike.
"""
