"""Field specs of the activity modules (Tasks, Events, Calls), Notes, and the Deals extras.

Plain data: ``metadata`` turns each ``(api_name, data_type, label, options)`` into a /settings/fields
item, so this module imports nothing of the emulator (no import cycle with ``metadata``).

Zoho's shapes, from its docs:
- Activities link to their parent through ``What_Id`` ``{"name", "id"}`` with the parent's module in
  the record's ``$se_module``, and to a contact through ``Who_Id`` ``{"name", "id"}``: Zoho's Tasks
  API post (https://help.zoho.com/portal/en/community/topic/kaizen-36-tasks-api) and the Tasks
  response structure (https://zoho.com/crm/developer/docs/api/v2/tasks-response.html).
  ``What_Id`` is one field over several modules: its metadata names them in
  ``multi_module_lookup`` rather than one ``lookup.module``.
- Notes link through ``Parent_Id`` ``{"module": {"api_name", "id"}, "id"}`` and carry
  ``Note_Title`` and ``Note_Content`` (https://www.zoho.com/crm/developer/docs/api/create-notes.html,
  the v8 Deluge sample); the record also carries ``$se_module``.
- Task statuses and priorities as the Tasks response page lists them; Call_Type values Outbound,
  Inbound, Missed; Call_Duration is text ``mm:ss`` beside the read-only Call_Duration_in_seconds.
"""

from __future__ import annotations

from typing import Any

Spec = tuple[str, str, str, dict[str, Any]]

# The modules an activity's What_Id (and a note's Parent_Id) may point at, in this org.
WHAT_MODULES: tuple[str, ...] = ("Accounts", "Deals", "Leads", "Contacts")
WHO_MODULES: tuple[str, ...] = ("Contacts", "Leads")
ACTIVITY_MODULES: tuple[str, ...] = ("Tasks", "Events", "Calls")
# Fields that point at more than one module (the record names which in $se_module).
POLYMORPHIC: dict[tuple[str, str], tuple[str, ...]] = {
    **{(m, "What_Id"): WHAT_MODULES for m in ACTIVITY_MODULES},
    ("Notes", "Parent_Id"): WHAT_MODULES,
}

TASK_STATUSES = ("Not Started", "Deferred", "In Progress", "Completed", "Waiting for input")
TASK_PRIORITIES = ("High", "Highest", "Low", "Lowest", "Normal")
CALL_TYPES = ("Outbound", "Inbound", "Missed")
CALL_PURPOSES = ("Prospecting", "Administrative", "Negotiation", "Demo", "Project", "Desk")
CALL_RESULTS = ("Interested", "Not interested", "No response", "Busy", "Requested more info", "Requested call back")
# A custom multi-select picklist and a subform on Deals (both typed as Zoho sends them: a list of
# strings, and a list of row objects each with its own id and the parent in Parent_Id).
COMPETITORS = ("Acme Cloud", "Globex", "Initech", "Umbrella", "Hooli", "Stark Systems")
LINE_ITEM_PRODUCTS = ("Platform licence", "Support plan", "Onboarding", "Training day", "Data add-on", "API pack")

_WHO: dict[str, Any] = {"lookup": "Contacts"}


def _poly(label: str) -> dict[str, Any]:
    return {"poly": WHAT_MODULES, "label": label}


def _activity_common() -> list[Spec]:
    return [
        ("Who_Id", "lookup", "Contact Name", _WHO),
        ("What_Id", "lookup", "Related To", _poly("Related To")),
        ("Description", "textarea", "Description", {}),
    ]


def tasks() -> list[Spec]:
    return [
        ("Owner", "ownerlookup", "Task Owner", {}),
        ("Subject", "text", "Subject", {"mandatory": True}),
        ("Due_Date", "date", "Due Date", {}),
        ("Status", "picklist", "Status", {"picklist": TASK_STATUSES}),
        ("Priority", "picklist", "Priority", {"picklist": TASK_PRIORITIES}),
        ("Closed_Time", "datetime", "Closed Time", {"read_only": True}),
        ("Send_Notification_Email", "boolean", "Send Notification Email", {}),
        *_activity_common(),
    ]


def events() -> list[Spec]:
    return [
        ("Owner", "ownerlookup", "Host", {}),
        ("Event_Title", "text", "Title", {"mandatory": True}),
        ("Venue", "text", "Location", {}),
        ("All_day", "boolean", "All day", {}),
        ("Start_DateTime", "datetime", "From", {"mandatory": True}),
        ("End_DateTime", "datetime", "To", {"mandatory": True}),
        *_activity_common(),
    ]


def calls() -> list[Spec]:
    return [
        ("Owner", "ownerlookup", "Call Owner", {}),
        ("Subject", "text", "Subject", {"mandatory": True}),
        ("Call_Type", "picklist", "Call Type", {"picklist": CALL_TYPES, "mandatory": True}),
        ("Call_Purpose", "picklist", "Call Purpose", {"picklist": CALL_PURPOSES}),
        ("Call_Start_Time", "datetime", "Call Start Time", {"mandatory": True}),
        ("Call_Duration", "text", "Call Duration", {"length": 10}),
        ("Call_Duration_in_seconds", "integer", "Call Duration (in seconds)", {"read_only": True}),
        ("Call_Result", "picklist", "Call Result", {"picklist": CALL_RESULTS}),
        *_activity_common(),
    ]


def notes() -> list[Spec]:
    return [
        ("Owner", "ownerlookup", "Note Owner", {}),
        ("Note_Title", "text", "Note Title", {"length": 120}),
        ("Note_Content", "textarea", "Note Content", {}),
        ("Parent_Id", "lookup", "Parent ID", _poly("Parent ID")),
    ]


def deals_extras() -> list[Spec]:
    return [
        ("Competitors", "multiselectpicklist", "Competitors", {"picklist": COMPETITORS, "custom": True}),
        ("Line_Items", "subform", "Line Items", {"custom": True, "subform": "Line_Items"}),
    ]


def line_item_fields() -> list[Spec]:
    """The subform's own fields (Zoho lists them as the subform module's fields)."""
    return [
        ("Product", "text", "Product", {"custom": True}),
        ("Quantity", "integer", "Quantity", {"custom": True}),
        ("Unit_Price", "currency", "Unit Price", {"custom": True}),
        ("Parent_Id", "lookup", "Parent Id", {"lookup": "Deals", "read_only": True}),
    ]
