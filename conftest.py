# Doctests run over archon/; the module entry point must not be imported as a test.
collect_ignore = ["archon/__main__.py"]
