"""The local mirror: the org's modules on disk (DuckDB), synced incrementally.

- ``mirror``: ``Mirror``, the public object (sync, frame, sql, changes, tombstones, schema);
- ``sync``: planning and reading one module's sync from the CRM (no writes);
- ``write``: landing a sync in the file, in one transaction;
- ``store``: the file itself (validation, creation, the sync lock, connections);
- ``columns``: typed frames to DuckDB columns and back; ``changes``, ``drift``, ``report``.

It uses the client's public API only, and sits beside ``sergas_nb.edits`` (client and below).
"""

from sergas_nb.mirror.mirror import Mirror
from sergas_nb.mirror.store import MirrorBusyError, MirrorError, MirrorFileError

__all__ = ["Mirror", "MirrorBusyError", "MirrorError", "MirrorFileError"]
