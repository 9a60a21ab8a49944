"""The HTTP service (Flask app factory, API blueprint, docs) and the ``bti`` command line."""
