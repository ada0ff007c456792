"""A local stand-in for Mailjet that the real mailjet-rest client talks to.

See docs/sandbox.md. Entry points: ``add_arguments``/``run`` for
``courierd sandbox``, ``SandboxServer`` for in-process tests.
"""

from mailjet_sandbox.command import add_arguments, run
from mailjet_sandbox.mime import find_eml
from mailjet_sandbox.server import SandboxServer

__all__ = ["SandboxServer", "add_arguments", "find_eml", "run"]
