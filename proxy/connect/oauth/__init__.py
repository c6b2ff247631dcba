"""OAuth installs on the connect page: the merchant signs in on the
platform instead of copying keys.

``flow`` (the contract: OAuthFlow, Grant, Choice, FlowRefused, FlowContext
and the FLOWS registry), ``attempts`` (the one-use, sealed record behind
each ``state``), ``offer`` (whether the form shows "Connect with
PLATFORM"), ``routes`` (start, callback, choose) and one module per
platform, imported here so it registers its flow. See DESIGN.md, "Connect".
"""

from . import shopify  # noqa: F401  (registers the flow)
from . import square  # noqa: F401  (registers the flow)
