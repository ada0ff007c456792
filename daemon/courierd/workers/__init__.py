"""The workers: the send loop, the event forwarder and the poller.

Each is a loop that moves work between the ports of `courierd.domain`: it
imports the domain (ports, errors, events, results) and never an adapter's
module or exception. `courierd.daemon` hands them the adapters.
"""
