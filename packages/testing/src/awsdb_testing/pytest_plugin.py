"""pytest plugin of awsdb-testing: fixtures for local emulated clusters (requested explicitly)."""
