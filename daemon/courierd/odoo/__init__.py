"""Everything that knows Odoo: the RPC client of the contract (docs/contract.md) and the
PDF renderer that drives `courier_render_pdf(s)`.

Adapters at the edge: these modules may import `courierd.domain` and `courierd.ops`,
never a worker or another adapter.
"""
