"""The provider-neutral domain: what a send and a tracking fact are, and the rules on them.

Tracking events, send results, the scanner guard, the backoff and the ports (the
Protocols the workers call, with the errors they raise). Nothing here does I/O
or knows Mailjet's or Odoo's wire formats; it imports only the standard library
and itself, so every other subpackage may import it.
"""
