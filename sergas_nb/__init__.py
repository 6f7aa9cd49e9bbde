"""sergas_nb: Zoho CRM from notebooks, as typed pandas DataFrames.

The official SDK (zohocrmsdk8-0) does auth, token storage, metadata and writes; reads come back
as DataFrames typed from the module's field metadata. ``sergas_nb.emulator`` is a local Zoho CRM
that the unmodified SDK runs against; it is used only when selected explicitly.
"""

__version__ = "0.1.0"
