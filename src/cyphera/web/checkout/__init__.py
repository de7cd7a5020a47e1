"""The hosted checkout: ``GET /pay/cs_…?key=…`` and the JSON endpoints its script calls."""
