"""A payment link's public page: ``GET /l/plink_…`` opens a new checkout and goes to it."""
