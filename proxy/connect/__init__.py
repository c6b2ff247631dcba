"""Connect: merchants link their own stores through a hosted page.

``sessions`` (the tenant creates a link), ``page`` (the merchant's pages),
``forms`` and ``csrf`` (what the pages post), ``completion`` (storing the
connection once the platform accepted it), ``exchange`` (the tenant trades
the one-time code for the connection). See DESIGN.md, "Connect".
"""
