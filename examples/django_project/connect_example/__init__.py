"""A minimal Django project with connect-mw installed."""
