"""Fields, modules, users and org against the shapes of Zoho's documented samples."""

from __future__ import annotations

from tests.emulator.conformance._shape import check_shape

REF = {"name": str, "id": str}
NULLABLE_STR = (str, None)

# Field metadata as Zoho's COQL page shows it (its include_meta sample is a full field object):
# https://www.zoho.com/crm/developer/docs/api/v7/Get-Records-through-COQL-Query.html ("Sample query
# to retrieve field metadata"). The sub-objects are objects ({} when unused), never null.
FIELD = {
    "api_name": str,
    "id": str,
    "field_label": str,
    "display_label": str,
    "data_type": str,
    "json_type": (str, None),
    "length": int,
    "decimal_place": (int, None),
    "read_only": bool,
    "field_read_only": bool,
    "system_mandatory": bool,
    "custom_field": bool,
    "visible": bool,
    "searchable": bool,
    "sortable": bool,
    "filterable": bool,
    "webhook": bool,
    "virtual_field": bool,
    "column_name": (str, None),
    "created_source": str,
    "display_type": int,
    "ui_type": int,
    "quick_sequence_number": (str, None),
    "pick_list_values": [dict],
    "lookup": dict,
    "unique": dict,
    "currency": dict,
    "formula": dict,
    "auto_number": dict,
    "multiselectlookup": dict,
    "multi_module_lookup": dict,
    "operation_type": {"web_update": bool, "api_create": bool, "web_create": bool, "api_update": bool},
}
FIELDS = {"fields": [FIELD]}

# https://www.zoho.com/crm/developer/docs/api/v7/module-meta.html (Get Modules sample): the keys the
# toolkit reads, with their types.
MODULES = {
    "modules": [
        {
            "api_name": str,
            "module_name": str,
            "id": str,
            "singular_label": str,
            "plural_label": str,
            "api_supported": bool,
            "generated_type": str,
            "creatable": bool,
            "editable": bool,
            "deletable": bool,
            "viewable": bool,
            "profiles": [REF],
        }
    ]
}

# https://www.zoho.com/crm/developer/docs/api/v7/get-users.html (sample response): keys every user has.
USER = {
    "id": str,
    "email": str,
    "full_name": str,
    "first_name": NULLABLE_STR,
    "last_name": NULLABLE_STR,
    "status": str,
    "confirm": bool,
    "role": REF,
    "profile": REF,
    "created_by": REF,
    "Modified_By": REF,
    "created_time": str,
    "Modified_Time": str,
    "Isonline": bool,
    "offset": int,
    "type__s": str,
    "time_zone": NULLABLE_STR,
    "locale": str,
    "country_locale": str,
    "zuid": NULLABLE_STR,
    "date_format": str,
    "time_format": str,
    "decimal_separator": str,
    "number_separator": NULLABLE_STR,
}
USERS = {"users": [USER], "info": {"per_page": int, "count": int, "page": int, "more_records": bool}}

# https://www.zoho.com/crm/developer/docs/api/v7/get-org-data.html (sample response). Its "type" is
# "production"; Zoho's org.json enum says "Production" (followed: the OpenAPI contract checks it).
ORG = {
    "org": [
        {
            "id": str,
            "zgid": str,
            "company_name": str,
            "domain_name": str,
            "primary_email": str,
            "primary_zuid": str,
            "currency": str,
            "currency_symbol": str,
            "currency_locale": str,
            "iso_code": str,
            "mc_status": bool,
            "gapps_enabled": bool,
            "time_zone": str,
            "country_code": str,
            "employee_count": str,
            "type": str,
            "created_time": str,
            "privacy_settings": bool,
            "hipaa_compliance_enabled": bool,
            "lite_users_enabled": bool,
            "translation_enabled": bool,
            "deletable_org_account": bool,
            "photo_id": NULLABLE_STR,
            "zia_portal_id": NULLABLE_STR,
            "hierarchy_preferences": {"type": str},
            "license_details": {
                "paid_expiry": NULLABLE_STR,
                "users_license_purchased": int,
                "trial_type": NULLABLE_STR,
                "trial_expiry": NULLABLE_STR,
                "paid": bool,
                "paid_type": str,
                "portal_users_license_purchased": int,
            },
        }
    ]
}


def test_field_metadata(api):
    r = api.get("/settings/fields", params={"module": "Accounts"})
    assert r.status_code == 200
    assert check_shape(r.json(), FIELDS) == []


def test_modules(api):
    r = api.get("/settings/modules")
    assert r.status_code == 200 and check_shape(r.json(), MODULES) == []


def test_users(api):
    for kind in ("CurrentUser", "AllUsers"):
        r = api.get("/users", params={"type": kind})
        assert r.status_code == 200 and check_shape(r.json(), USERS) == [], kind


def test_org(api):
    r = api.get("/org")
    assert r.status_code == 200 and check_shape(r.json(), ORG) == []
