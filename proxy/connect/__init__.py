"""Connect: merchants link their own stores through a hosted page.

``sessions`` (the tenant creates a link), ``page`` (the merchant's pages),
``forms`` and ``csrf`` (what the pages post), ``completion`` (storing the
connection once the platform accepted it), ``exchange`` (the tenant trades
the one-time code for the connection), ``oauth`` (installs through the
platform's consent screen instead of typed keys). See DESIGN.md, "Connect".
"""
