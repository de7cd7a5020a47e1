"""``cyphera dev``: the whole platform on embedded defaults, for a laptop or a demo."""
