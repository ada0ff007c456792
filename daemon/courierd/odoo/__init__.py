"""Everything that knows Odoo: the RPC client of the contract (docs/contract.md) over
JSON-RPC or JSON-2 (json2, transport), and the PDF renderer that drives
`courier_render_pdf(s)`.

Adapters at the edge: these modules may import `courierd.domain` and `courierd.ops`,
never a worker or another adapter.
"""
