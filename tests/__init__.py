"""Project-wide tests: libraries (no Django), integration (real worker), end-to-end pages."""
