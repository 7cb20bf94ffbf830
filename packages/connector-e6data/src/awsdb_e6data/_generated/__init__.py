"""Generated protobuf modules (``scripts/gen_stubs.py``); do not edit."""
