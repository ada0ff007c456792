"""The provider-neutral domain: what a send and a tracking fact are, and the rules on them.

The contract's shapes as types (contract), tracking events (tracking), send
results (sending), the backoff, the scanner guard, the ports (the Protocols the
workers call) and the errors they raise (errors). Nothing here does I/O or knows
Mailjet's or Odoo's own formats; it imports only the standard library and
itself, so every other subpackage may import it.
"""
