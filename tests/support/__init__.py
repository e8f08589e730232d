"""Test helpers shared by the test folders (imported as ``support.<module>``; not tests)."""
