"""Field and module metadata for the emulated org, in Zoho's /settings/fields and /settings/modules shapes.

Built once at import: the metadata is static for the emulator's lifetime, so routes can serve
pre-serialised bytes and the store can validate writes against plain dicts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sergas_nb.emulator.state import activity_fields as af

MODULES: tuple[str, ...] = ("Leads", "Accounts", "Contacts", "Deals", "Tasks", "Events", "Calls", "Notes")

# Stable 19-digit ids for modules and fields (real orgs use 19-digit numeric strings everywhere).
_MODULE_IDS = {
    "Leads": "6250853000000002175",
    "Accounts": "6250853000000002177",
    "Contacts": "6250853000000002179",
    "Deals": "6250853000000002181",
    "Tasks": "6250853000000002183",
    "Events": "6250853000000002185",
    "Calls": "6250853000000002187",
    "Notes": "6250853000000002189",
    "Line_Items": "6250853000000002191",  # the Deals subform's own module
}
_MODULE_LABELS = {
    "Leads": ("Lead", "Leads"),
    "Accounts": ("Account", "Accounts"),
    "Contacts": ("Contact", "Contacts"),
    "Deals": ("Deal", "Deals"),
    "Tasks": ("Task", "Tasks"),
    "Events": ("Meeting", "Meetings"),  # Zoho's UI calls Events "Meetings"; the API name stays Events
    "Calls": ("Call", "Calls"),
    "Notes": ("Note", "Notes"),
}

# The field Zoho checks for duplicates by default (insert) and upsert's default duplicate_check_fields.
DUPLICATE_FIELDS: dict[str, str] = {
    "Leads": "Email",
    "Accounts": "Account_Name",
    "Contacts": "Email",
    "Deals": "Deal_Name",
}

_JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "autonumber": "string",
    "picklist": "string",
    "date": "string",
    "datetime": "string",
    "integer": "integer",
    "bigint": "integer",
    "currency": "double",
    "double": "double",
    "percent": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "multiselectpicklist": "jsonarray",
    "subform": "jsonarray",
}
_LENGTHS = {
    "text": 255,
    "textarea": 32000,
    "email": 100,
    "phone": 30,
    "website": 255,
    "autonumber": 255,
    "picklist": 120,
    "multiselectpicklist": 2000,
    "integer": 9,
    "bigint": 18,
    "currency": 16,
    "double": 16,
    "percent": 5,
    "boolean": 5,
    "date": 20,
    "datetime": 120,
    "lookup": 120,
    "ownerlookup": 120,
    "userlookup": 120,
    "subform": 2000,
}

INDUSTRIES: tuple[str, ...] = (
    "Technology",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Education",
    "Energy",
    "Real Estate",
    "Telecommunications",
    "Media",
    "Transportation",
    "Hospitality",
    "Government",
    "Construction",
    "Agriculture",
    "Consulting",
)
ACCOUNT_TYPES = (
    "Analyst",
    "Competitor",
    "Customer",
    "Distributor",
    "Integrator",
    "Investor",
    "Other",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Supplier",
    "Vendor",
)
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")
OWNERSHIPS = ("Other", "Private", "Public", "Subsidiary", "Partnership", "Government", "Privately Held")
ACCOUNT_STATUSES = ("Active", "At Risk", "Churned", "Prospect")
LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
LEAD_STATUSES = (
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
SALUTATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")
STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)
DEAL_TYPES = ("Existing Business", "New Business")

_id_counters: dict[str, int] = {}


def _field_id(module: str) -> str:
    # Per-module counter so ids do not depend on which module is built first.
    n = _id_counters[module] = _id_counters.get(module, 0) + 1
    return f"{int(_MODULE_IDS[module]) + 1000 + n:019d}"


def _picklist(values: tuple[str, ...] | list[str], none: bool = True) -> list[dict[str, Any]]:
    items = (["-None-"] if none else []) + list(values)
    return [
        {
            "display_value": v,
            "actual_value": v,
            "type": "used",
            "id": f"{6250853000000100000 + i:019d}",
            "sequence_number": i + 1,
            "colour_code": None,
            "reference_value": v,
        }
        for i, v in enumerate(items)
    ]


def _f(
    module: str,
    api_name: str,
    data_type: str,
    label: str | None = None,
    *,
    mandatory: bool = False,
    read_only: bool = False,
    custom: bool = False,
    picklist: tuple[str, ...] | None = None,
    lookup: str | None = None,
    unique: bool = False,
    length: int | None = None,
    json_type: str | None = None,
    poly: tuple[str, ...] | None = None,
    subform: str | None = None,
) -> dict[str, Any]:
    label = label or api_name.replace("_", " ")
    field: dict[str, Any] = {
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": json_type or _JSON_TYPES[data_type],
        "column_name": api_name.upper(),
        "id": _field_id(module),
        "length": length or _LENGTHS[data_type],
        "decimal_place": 2 if data_type in ("currency", "double", "percent") else None,
        "read_only": read_only,
        "field_read_only": read_only,
        "system_mandatory": mandatory,
        "custom_field": custom,
        "visible": True,
        "searchable": data_type not in ("textarea",),
        "sortable": data_type not in ("textarea", "multiselectpicklist"),
        "filterable": True,
        "mass_update": not read_only,
        "virtual_field": False,
        "webhook": True,
        "blueprint_supported": not read_only,
        "businesscard_supported": True,
        "available_in_user_layout": True,
        "display_field": api_name in ("Account_Name", "Last_Name", "Deal_Name") and module != "Contacts",
        "pick_list_values_sorted_lexically": False,
        "separator": False,
        "enable_colour_code": False,
        "colour_code_enabled_by_system": False,
        "created_source": "default" if not custom else "crm",
        "type": "used",
        "display_type": -1,
        "ui_type": 1,
        "show_type": 7,
        "category": 0,
        "quick_sequence_number": "1",
        "created_time": None if not custom else "2021-03-04T10:15:00+00:00",
        "modified_time": None if not custom else "2023-06-12T08:30:00+00:00",
        "additional_column": None,
        "hipaa_compliance_enabled": False,
        "number_separator": data_type in ("integer", "bigint"),
        "static_field": False,
        "_update_existing_records": False,
        "customizable_properties": [],
        "pick_list_values": _picklist(picklist) if picklist is not None else [],
        "lookup": {},
        "unique": {"casesensitive": "false"} if unique else {},
        "currency": {"rounding_option": "normal", "precision": 2} if data_type == "currency" else {},
        "formula": {},
        "auto_number": {},
        "multiselectlookup": {},
        "subform": None,
        "rollup_summary": None,
        "multi_module_lookup": {},
        "common.picklist": None,
        # Keys Zoho's OpenAPI file marks required on every field; values as an unconfigured org shows them.
        "associated_module": {"api_name": None, "id": None},
        "tooltip": {"name": "", "value": ""},
        "history_tracking": {"module": {}, "duration_configured_field": {"api_name": None, "id": None}},
        "external": {"show": None, "type": None},
        "crypt": {"mode": None, "status": None},
        "operation_type": {
            "web_update": not read_only,
            "api_create": not read_only,
            "web_create": not read_only,
            "api_update": not read_only,
        },
        "view_type": {"view": True, "edit": not read_only, "quick_create": mandatory, "create": not read_only},
        "layout_associations": [],
        "email_parser": {"fields_update_supported": None, "record_operations_supported": None},
        "refer_from_field": {"id": None, "api_name": None},
        "sharing_properties": {},
        "file_upolad_optionlist": [],
        "profiles": [],
        "sub_module": {"api_name": None, "id": None},
        "convert_mapping": {},
        "multiuserlookup": {
            "display_label": None,
            "linking_module": {"api_name": None, "id": None},
            "connected_module": {"api_name": None, "id": None},
            "lookup_apiname": None,
            "api_name": None,
            "connectedfield_apiname": None,
            "connectedlookup_apiname": None,
            "id": None,
            "record_access": None,
        },
        "autonumber": {"starting_number_length": 0, "prefix": None, "suffix": None, "start_number": None},
        "association_details": {
            "related_field": {"api_name": None, "id": None},
            "lookup_field": {"api_name": None, "id": None},
        },
        "allowed_modules": [],
        "hipaa_compliance": {"restricted_in_export": None, "restricted": None},
        "textarea": {"type": "large"} if data_type == "textarea" else {},
    }
    if lookup:
        field["lookup"] = {
            "display_label": lookup[:-1] if lookup.endswith("s") else lookup,
            "api_name": lookup,
            "module": {"api_name": lookup, "id": _MODULE_IDS[lookup]},
            "id": _field_id(module),
            "revalidate_filter_during_edit": False,
            "query_details": {},
            "show_fields": [],
        }
    if data_type in ("ownerlookup", "userlookup"):
        field["lookup"] = {"module": {"api_name": "users", "id": None}}
    if poly:
        # One lookup over several modules (What_Id, a note's Parent_Id): no single lookup.module; the
        # record names its module in $se_module.
        field["multi_module_lookup"] = {
            "api_name": api_name,
            "display_label": label,
            "modules": [{"api_name": m, "id": _MODULE_IDS[m]} for m in poly],
        }
    if subform:
        field["subform"] = {"module": {"api_name": subform, "id": _MODULE_IDS[subform]}}
        field["associated_module"] = {"api_name": subform, "id": _MODULE_IDS[subform]}
    return field


def _from_specs(module: str, specs: list[af.Spec]) -> list[dict[str, Any]]:
    out = []
    for api, data_type, label, opts in specs:
        kw = {k: v for k, v in opts.items() if k != "label"}
        out.append(_f(module, api, data_type, label, **kw))
    return out


def _tag(module: str) -> dict[str, Any]:
    # Zoho describes Tag as data_type text with json_type jsonarray: values are [{"name", "id"}].
    return _f(module, "Tag", "text", "Tag", read_only=True, json_type="jsonarray")


def _system_fields(module: str) -> list[dict[str, Any]]:
    return [
        _f(module, "Created_By", "userlookup", "Created By", read_only=True),
        _f(module, "Modified_By", "userlookup", "Modified By", read_only=True),
        _f(module, "Created_Time", "datetime", "Created Time", read_only=True),
        _f(module, "Modified_Time", "datetime", "Modified Time", read_only=True),
        _f(module, "Last_Activity_Time", "datetime", "Last Activity Time", read_only=True),
    ]


def _accounts() -> list[dict[str, Any]]:
    m = "Accounts"
    fields = [
        _f(m, "Owner", "ownerlookup", "Account Owner"),
        _f(m, "Account_Name", "text", "Account Name", mandatory=True, unique=True, length=200),
        _f(m, "Account_Number", "text", "Account Number", length=40),
        _f(m, "Account_Site", "text", "Account Site", length=80),
        _f(m, "Parent_Account", "lookup", "Parent Account", lookup="Accounts"),
        _f(m, "Account_Type", "picklist", "Account Type", picklist=ACCOUNT_TYPES),
        _f(m, "Industry", "picklist", "Industry", picklist=INDUSTRIES),
        _f(m, "Rating", "picklist", "Rating", picklist=RATINGS),
        _f(m, "Ownership", "picklist", "Ownership", picklist=OWNERSHIPS),
        _f(m, "Annual_Revenue", "currency", "Annual Revenue"),
        _f(m, "Employees", "integer", "Employees"),
        _f(m, "SIC_Code", "integer", "SIC Code"),
        _f(m, "Phone", "phone", "Phone"),
        _f(m, "Fax", "phone", "Fax"),
        _f(m, "Website", "website", "Website"),
        _f(m, "Ticker_Symbol", "text", "Ticker Symbol", length=30),
    ]
    for kind in ("Billing", "Shipping"):
        fields += [
            _f(m, f"{kind}_Street", "text", f"{kind} Street", length=250),
            _f(m, f"{kind}_City", "text", f"{kind} City", length=30),
            _f(m, f"{kind}_State", "text", f"{kind} State", length=30),
            _f(m, f"{kind}_Code", "text", f"{kind} Code", length=30),
            _f(m, f"{kind}_Country", "text", f"{kind} Country", length=30),
        ]
    fields += [
        _f(m, "Description", "textarea", "Description"),
        _tag(m),
        *_system_fields(m),
        _f(m, "Health_Score", "integer", "Health Score", custom=True),
        _f(m, "Account_Status", "picklist", "Account Status", custom=True, picklist=ACCOUNT_STATUSES),
        _f(m, "Last_Engagement_Date", "date", "Last Engagement Date", custom=True),
        *_computed_accounts(m),
    ]
    return fields


# Stages a deal is still open in (the rollup below sums those deals' amounts).
CLOSED_STAGES = ("Closed Won", "Closed Lost", "Closed Lost to Competition")


def _computed_accounts(m: str) -> list[dict[str, Any]]:
    """A rollup summary and a formula field, as Zoho's Fields Metadata API describes them
    (https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html: data_type ``rollup_summary`` /
    ``formula``, the ``rollup_summary`` and ``formula`` objects with ``return_type``; fields.json in
    zoho/crm-oas requires ``formula.return_type`` and ``formula.expression``). A rollup follows its
    child records, so it changes without the account's Modified_Time moving."""
    rollup = _f(
        m,
        "Open_Deals_Amount",
        "rollup_summary",
        "Open Deals Amount",
        read_only=True,
        custom=True,
        json_type="double",
        length=16,
    )
    rollup["rollup_summary"] = {
        "return_type": "currency",
        "expression": {"function_parameters": [{"api_name": "Amount"}], "criteria": None, "function": "SUM"},
        "based_on_module": {"api_name": "Deals", "id": _MODULE_IDS["Deals"]},
        "related_list": {"api_name": "Deals"},
    }
    formula = _f(
        m,
        "Revenue_Per_Employee",
        "formula",
        "Revenue Per Employee",
        read_only=True,
        custom=True,
        json_type="double",
        length=16,
    )
    formula["formula"] = {"return_type": "double", "expression": "Annual_Revenue / Employees"}
    return [rollup, formula]


def _leads() -> list[dict[str, Any]]:
    m = "Leads"
    return [
        _f(m, "Owner", "ownerlookup", "Lead Owner"),
        _f(m, "Salutation", "picklist", "Salutation", picklist=SALUTATIONS),
        _f(m, "First_Name", "text", "First Name", length=40),
        _f(m, "Last_Name", "text", "Last Name", mandatory=True, length=80),
        _f(m, "Full_Name", "text", "Full Name", read_only=True),
        _f(m, "Company", "text", "Company", length=200),
        _f(m, "Designation", "text", "Title", length=100),
        _f(m, "Email", "email", "Email", unique=True),
        _f(m, "Phone", "phone", "Phone"),
        _f(m, "Mobile", "phone", "Mobile"),
        _f(m, "Website", "website", "Website"),
        _f(m, "Lead_Source", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _f(m, "Lead_Status", "picklist", "Lead Status", picklist=LEAD_STATUSES),
        _f(m, "Industry", "picklist", "Industry", picklist=INDUSTRIES),
        _f(m, "No_of_Employees", "integer", "No. of Employees"),
        _f(m, "Annual_Revenue", "currency", "Annual Revenue"),
        _f(m, "Rating", "picklist", "Rating", picklist=RATINGS),
        _f(m, "Email_Opt_Out", "boolean", "Email Opt Out"),
        _f(m, "Street", "text", "Street", length=250),
        _f(m, "City", "text", "City", length=30),
        _f(m, "State", "text", "State", length=30),
        _f(m, "Zip_Code", "text", "Zip Code", length=30),
        _f(m, "Country", "text", "Country", length=30),
        _f(m, "Description", "textarea", "Description"),
        _tag(m),
        *_system_fields(m),
    ]


def _contacts() -> list[dict[str, Any]]:
    m = "Contacts"
    return [
        _f(m, "Owner", "ownerlookup", "Contact Owner"),
        _f(m, "Salutation", "picklist", "Salutation", picklist=SALUTATIONS),
        _f(m, "First_Name", "text", "First Name", length=40),
        _f(m, "Last_Name", "text", "Last Name", mandatory=True, length=80),
        _f(m, "Full_Name", "text", "Full Name", read_only=True),
        _f(m, "Account_Name", "lookup", "Account Name", lookup="Accounts"),
        _f(m, "Email", "email", "Email", unique=True),
        _f(m, "Secondary_Email", "email", "Secondary Email"),
        _f(m, "Phone", "phone", "Phone"),
        _f(m, "Mobile", "phone", "Mobile"),
        _f(m, "Title", "text", "Title", length=100),
        _f(m, "Department", "text", "Department", length=30),
        _f(m, "Lead_Source", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _f(m, "Date_of_Birth", "date", "Date of Birth"),
        _f(m, "Email_Opt_Out", "boolean", "Email Opt Out"),
        _f(m, "Mailing_Street", "text", "Mailing Street", length=250),
        _f(m, "Mailing_City", "text", "Mailing City", length=30),
        _f(m, "Mailing_State", "text", "Mailing State", length=30),
        _f(m, "Mailing_Zip", "text", "Mailing Zip", length=30),
        _f(m, "Mailing_Country", "text", "Mailing Country", length=30),
        _f(m, "Description", "textarea", "Description"),
        _tag(m),
        *_system_fields(m),
    ]


def _deals() -> list[dict[str, Any]]:
    m = "Deals"
    return [
        _f(m, "Owner", "ownerlookup", "Deal Owner"),
        _f(m, "Deal_Name", "text", "Deal Name", mandatory=True, unique=True, length=120),
        _f(m, "Account_Name", "lookup", "Account Name", lookup="Accounts"),
        _f(m, "Contact_Name", "lookup", "Contact Name", lookup="Contacts"),
        _f(m, "Stage", "picklist", "Stage", mandatory=True, picklist=STAGES),
        _f(m, "Amount", "currency", "Amount"),
        _f(m, "Probability", "integer", "Probability (%)", length=3),
        _f(m, "Expected_Revenue", "currency", "Expected Revenue", read_only=True),
        _f(m, "Closing_Date", "date", "Closing Date", mandatory=True),
        _f(m, "Type", "picklist", "Type", picklist=DEAL_TYPES),
        _f(m, "Lead_Source", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _f(m, "Next_Step", "text", "Next Step", length=100),
        _f(m, "Description", "textarea", "Description"),
        _tag(m),
        *_system_fields(m),
        *_from_specs(m, af.deals_extras()),
    ]


def _activity(module: str, specs: list[af.Spec]) -> list[dict[str, Any]]:
    return [*_from_specs(module, specs), _tag(module), *_system_fields(module)]


def _notes() -> list[dict[str, Any]]:
    # Notes carry no Tag and no Last_Activity_Time (Zoho's Notes fields).
    return [*_from_specs("Notes", af.notes()), *_system_fields("Notes")[:4]]


_BUILDERS = {
    "Leads": _leads,
    "Accounts": _accounts,
    "Contacts": _contacts,
    "Deals": _deals,
    "Tasks": lambda: _activity("Tasks", af.tasks()),
    "Events": lambda: _activity("Events", af.events()),
    "Calls": lambda: _activity("Calls", af.calls()),
    "Notes": _notes,
}


@cache
def subform_fields(subform: str = "Line_Items") -> list[dict[str, Any]]:
    """The fields of a subform's rows (the Deals subform Line_Items)."""
    return _from_specs("Line_Items", af.line_item_fields())


def canonical_module(name: str) -> str | None:
    """Zoho accepts module API names case-insensitively; return the canonical spelling or None."""
    return _CANON.get(name.lower())


_CANON = {m.lower(): m for m in MODULES}


@cache
def _standard_fields(module: str) -> list[dict[str, Any]]:
    return _BUILDERS[module]()


# Fields an admin added (or retyped) and removed through the control API, per module: what
# Zoho's setup (or POST /settings/fields, https://www.zoho.com/crm/developer/docs/api/v8/create-custom-fields.html)
# does to an org's metadata. ``GENERATION`` moves on each change so cached answers can tell.
_added: dict[str, dict[str, dict[str, Any]]] = {}
_removed: dict[str, set[str]] = {}
GENERATION = [0]


@cache
def _fields_at(module: str, generation: int) -> list[dict[str, Any]]:
    added = _added.get(module, {})
    removed = _removed.get(module, set())
    out = [added.get(f["api_name"], f) for f in _standard_fields(module) if f["api_name"] not in removed]
    known = {f["api_name"] for f in out}
    return out + [f for name, f in added.items() if name not in known and name not in removed]


def fields_for(module: str) -> list[dict[str, Any]]:
    """The module's fields in /settings/fields item shape (raises KeyError for unknown modules)."""
    return _fields_at(module, GENERATION[0])


@cache
def _field_map_at(module: str, generation: int) -> dict[str, dict[str, Any]]:
    return {f["api_name"]: f for f in _fields_at(module, generation)}


def field_map(module: str) -> dict[str, dict[str, Any]]:
    """api_name -> field dict for one module."""
    return _field_map_at(module, GENERATION[0])


def add_custom_field(module: str, api_name: str, data_type: str, label: str | None = None, **options: Any) -> dict:
    """Add a custom field (or give an existing one a new data type), as an admin would in setup."""
    if data_type not in _JSON_TYPES:
        raise ValueError(f"data_type must be one of {', '.join(sorted(_JSON_TYPES))}")
    if not api_name or not api_name.replace("_", "").isalnum():
        raise ValueError("api_name must be letters, digits and underscores")
    old = field_map(module).get(api_name)
    field = _f(module, api_name, data_type, label, custom=True, **options)
    if old is not None:
        field["id"] = old["id"]  # the same field, retyped
    _added.setdefault(module, {})[api_name] = field
    _removed.get(module, set()).discard(api_name)
    GENERATION[0] += 1
    return field


def remove_custom_field(module: str, api_name: str) -> None:
    """Delete a custom field (Zoho lets admins delete custom fields only)."""
    field = field_map(module).get(api_name)
    if field is None:
        raise ValueError(f"{module} has no field {api_name!r}")
    if not field["custom_field"]:
        raise ValueError(f"{api_name} is a standard field; only custom fields can be deleted")
    _removed.setdefault(module, set()).add(api_name)
    GENERATION[0] += 1


def reset_custom_fields() -> None:
    if _added or _removed:
        _added.clear()
        _removed.clear()
        GENERATION[0] += 1


def module_id(module: str) -> str:
    return _MODULE_IDS[module]


_DISPLAY_FIELD = {
    "Leads": "Last_Name",
    "Accounts": "Account_Name",
    "Contacts": "Last_Name",
    "Deals": "Deal_Name",
    "Tasks": "Subject",
    "Events": "Event_Title",
    "Calls": "Subject",
    "Notes": "Note_Title",
}


def modules() -> list[dict[str, Any]]:
    """The /settings/modules list: the four emulated modules, all api_supported."""
    out = []
    for seq, name in enumerate(MODULES, start=1):
        singular, plural = _MODULE_LABELS[name]
        out.append(
            {
                "api_name": name,
                "module_name": name,
                "singular_label": singular,
                "plural_label": plural,
                "id": _MODULE_IDS[name],
                "api_supported": True,
                "generated_type": "default",
                "creatable": True,
                "editable": True,
                "deletable": True,
                "viewable": True,
                "visible": True,
                "convertable": name == "Leads",
                "show_as_tab": True,
                "sequence_number": seq,
                "quick_create": True,
                "global_search_supported": True,
                "modified_time": None,
                "modified_by": {"name": "System", "id": None},
                "business_card_field_limit": 5,
                "web_link": None,
                "presence_sub_menu": False,
                "triggers_supported": True,
                "feeds_required": False,
                "scoring_supported": True,
                "webform_supported": name in ("Leads", "Contacts"),
                "isBlueprintSupported": True,
                "filter_supported": True,
                "kanban_view_supported": True,
                "kanban_view": False,
                "email_template_support": True,
                "inventory_template_supported": False,
                "description": None,
                "profile_count": 1,
                "parent_module": {},
                "visibility": 1,
                "arguments": [],
                "per_page": 200,
                "recycle_bin_on_delete": True,
                "profiles": [{"name": "Administrator", "id": "6250853000000026011"}],
                "status": "visible",
                # The remaining keys Zoho's OpenAPI file requires, as an org without customisations shows them.
                "common.search_supported": True,
                "chart_view": False,
                "emailTemplate_support": True,
                "email_parser_supported": False,
                "chart_view_supported": True,
                "track_current_data": False,
                "activity_badge": None,
                "$field_states": [],
                "business_card_fields": [],
                "$properties": [],
                "$on_demand_properties": [],
                "search_layout_fields": [],
                "lookup_field_properties": {"fields": []},
                "related_lists": [],
                "filter_status": True,
                "related_list_properties": {
                    "sort_by": {"api_name": None, "id": None},
                    "fields": [],
                    "sort_order": None,
                },
                "display_field": {"api_name": _DISPLAY_FIELD[name], "id": field_map(name)[_DISPLAY_FIELD[name]]["id"]},
                "layouts": [],
                "fields": [],
                "custom_view": None,
                "zia_view": False,
                "default_mapping_fields": [],
                "layout_associations": [],
            }
        )
    return out
