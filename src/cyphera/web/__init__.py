"""The customer's web pages: an edge over the same services as the REST API (`cyphera.api`).

`install_web` mounts the pages and their assets on the API app. Pages render Jinja2 templates
(`templates/`: ``base.html``, a layout per surface, one template per page); the one script is
``ts/checkout.ts``, bundled with its npm dependencies at setup (``make web-assets``) into
``build/web/`` under content-hashed names (`cyphera.web.assets`). Every page answers under a
strict Content-Security-Policy (`cyphera.web.security`): nothing inline, everything from our
own origin.

- ``checkout/``: the hosted checkout (``/pay/cs_…?key=…``) and the JSON endpoints its script
  calls, scoped to one session by its client secret.
"""
