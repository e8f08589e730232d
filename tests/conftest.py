"""Shared configuration for the test suite.

The tests are arranged by behaviour: ``parse/``, ``verify/``, ``receiver/``, ``stores/``,
``processing/``, ``adapters/``, ``django/``, ``cli/``, ``dashboard/`` and ``hostile/``.
Helpers live in the ``support`` package (``tests`` is on ``sys.path`` through pytest's
``pythonpath`` setting, so tests import them as ``from support.deliveries import KEY``);
payload files live in ``fixtures/``. Fixtures stay in the modules that use them.
"""
