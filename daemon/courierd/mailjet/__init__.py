"""Everything that knows Mailjet: the REST client, message building, answer parsing,
event normalizing (with its dedupe key), history polling, the webhook receiver, the
two mapping files that tune them, and Mailjet behind the workers' ports (provider).

Adapters at the edge: these modules may import `courierd.domain` and `courierd.ops`,
never a worker.
"""
