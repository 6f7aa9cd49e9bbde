"""Deterministic synthetic CRM data: the same seed gives byte-identical records.

Plain word lists and one ``random.Random(seed)`` keep generation cheap (Faker costs microseconds per
value, which adds up to minutes for 100,000 accounts); values are drawn through ``rng.random()``
indexing rather than ``rng.choice`` for the same reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sergas_nb.emulator.state import metadata as md

# Seeded data lives between these instants; live writes use the real clock and so are always newer.
SEED_START = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
SEED_END = datetime(2025, 10, 31, tzinfo=UTC).timestamp()
FIRST_ID = 6250853000000300000
ORG_ID = "6250853000000000001"

_ADJ = (
    "Blue",
    "Red",
    "Green",
    "Silver",
    "Golden",
    "North",
    "South",
    "East",
    "West",
    "Bright",
    "Swift",
    "Summit",
    "Pioneer",
    "Atlas",
    "Apex",
    "Vertex",
    "Granite",
    "Cedar",
    "Maple",
    "Oak",
    "River",
    "Harbor",
    "Iron",
    "Crystal",
    "Lunar",
    "Solar",
    "Stellar",
    "Quantum",
    "Nova",
    "Prime",
    "Alpine",
    "Coastal",
    "Evergreen",
    "Falcon",
    "Eagle",
    "Liberty",
    "Horizon",
    "Keystone",
    "Meridian",
    "Northstar",
    "Pinnacle",
    "Redwood",
    "Sterling",
    "Titan",
    "Union",
    "Vista",
    "Zenith",
    "Beacon",
    "Cobalt",
    "Crescent",
    "Everest",
    "Frontier",
    "Global",
    "Heritage",
    "Insight",
    "Legacy",
    "Noble",
    "Orion",
    "Phoenix",
    "Radiant",
)
_NOUN = (
    "Ridge",
    "Bridge",
    "Point",
    "Stone",
    "Field",
    "Gate",
    "Wave",
    "Peak",
    "Path",
    "Lake",
    "Forge",
    "Works",
    "Labs",
    "Valley",
    "Crest",
    "Bay",
    "Port",
    "Line",
    "Grove",
    "Haven",
    "Mark",
    "Star",
    "Tree",
    "Rock",
    "Wind",
    "Light",
    "Spring",
    "Brook",
    "Hill",
    "Shore",
    "Sky",
    "Core",
    "Edge",
    "Link",
    "Wing",
    "Arc",
    "Loop",
    "Mill",
    "Yard",
    "Dale",
)
_SECTOR = (
    "Analytics",
    "Systems",
    "Logistics",
    "Health",
    "Capital",
    "Energy",
    "Foods",
    "Motors",
    "Software",
    "Networks",
    "Pharma",
    "Retail",
    "Media",
    "Consulting",
    "Robotics",
    "Materials",
    "Biotech",
    "Finance",
    "Partners",
    "Holdings",
    "Solutions",
    "Dynamics",
    "Industries",
    "Technologies",
    "Ventures",
    "Labs",
    "Supply",
    "Freight",
    "Studios",
    "Clinics",
)
_LEGAL = ("Inc", "LLC", "Ltd", "Corp", "GmbH", "PLC", "Co", "Group", "SA", "AG")
_FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Priya",
    "Arjun",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Carlos",
    "Sofia",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Lars",
    "Ingrid",
    "Pierre",
    "Camille",
    "Luca",
    "Giulia",
    "Kwame",
    "Amara",
    "Diego",
    "Lucia",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Ethan",
    "Ava",
)
_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Patel",
    "Sharma",
    "Chen",
    "Wang",
    "Tanaka",
    "Suzuki",
    "Silva",
    "Rossi",
    "Muller",
    "Schmidt",
    "Dubois",
    "Nielsen",
    "Kowalski",
    "Novak",
    "Okafor",
    "Mensah",
    "Haddad",
    "Khan",
    "Ivanov",
    "Larsen",
    "Costa",
    "Moreau",
    "Fischer",
    "Nakamura",
    "Kim",
    "Park",
)
# (country, [(city, state, phone prefix)])
_PLACES = (
    (
        "United States",
        (
            ("New York", "NY"),
            ("San Francisco", "CA"),
            ("Austin", "TX"),
            ("Chicago", "IL"),
            ("Boston", "MA"),
            ("Seattle", "WA"),
            ("Denver", "CO"),
            ("Atlanta", "GA"),
        ),
    ),
    ("United Kingdom", (("London", "England"), ("Manchester", "England"), ("Edinburgh", "Scotland"))),
    ("Germany", (("Berlin", "BE"), ("Munich", "BY"), ("Hamburg", "HH"))),
    ("France", (("Paris", "IDF"), ("Lyon", "ARA"))),
    ("India", (("Bengaluru", "KA"), ("Mumbai", "MH"), ("Chennai", "TN"), ("Pune", "MH"))),
    ("Japan", (("Tokyo", "Tokyo"), ("Osaka", "Osaka"))),
    ("Australia", (("Sydney", "NSW"), ("Melbourne", "VIC"))),
    ("Canada", (("Toronto", "ON"), ("Vancouver", "BC"))),
    ("Brazil", (("Sao Paulo", "SP"), ("Rio de Janeiro", "RJ"))),
    ("Spain", (("Madrid", "MD"), ("Barcelona", "CT"))),
    ("Netherlands", (("Amsterdam", "NH"),)),
    ("Singapore", (("Singapore", "SG"),)),
)
# Country weights: skewed towards the US like most CRM orgs.
_PLACE_WEIGHTS = (40, 10, 8, 6, 10, 5, 5, 5, 4, 3, 2, 2)
_STREETS = (
    "Main St",
    "Oak Ave",
    "Market St",
    "Park Rd",
    "High St",
    "King St",
    "Elm St",
    "Lake Dr",
    "Hill Rd",
    "Church St",
    "Mill Ln",
    "Station Rd",
    "Harbor Blvd",
    "Broadway",
    "Pine St",
)
_ACCOUNT_STATUS_WEIGHTS = (55, 20, 10, 15)
_DOMAINS = ("example.com", "example.org", "example.net")


def iso(ts: float) -> str:
    """UTC instant as Zoho's datetime string with an explicit +00:00 offset (sorts as text)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def day(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


@dataclass
class SeedData:
    users: list[dict[str, Any]]
    org: dict[str, Any]
    records: dict[str, dict[str, dict[str, Any]]]
    next_id: int
    counts: dict[str, int] = field(default_factory=dict)


def _users(rng: random.Random, user_email: str) -> list[dict[str, Any]]:
    n = 5 + int(rng.random() * 6)  # 5..10 owners
    users = []
    seen: set[str] = set()
    for i in range(n):
        while True:
            first, last = _FIRST[int(rng.random() * len(_FIRST))], _LAST[int(rng.random() * len(_LAST))]
            if (first, last) not in seen:
                seen.add((first, last))  # type: ignore[arg-type]
                break
        email = user_email if i == 0 else f"{first.lower()}.{last.lower()}@sergas-demo.example"
        uid = f"{6250853000000200001 + i * 17:019d}"
        users.append(
            {
                "id": uid,
                "first_name": first,
                "last_name": last,
                "full_name": f"{first} {last}",
                "name": f"{first} {last}",
                "email": email,
                "status": "active",
                "confirm": True,
                "role": {"name": "CEO" if i == 0 else "Sales Representative", "id": "6250853000000026005"},
                "profile": {
                    "name": "Administrator" if i == 0 else "Standard",
                    "id": "6250853000000026011" if i == 0 else "6250853000000026014",
                },
                "time_zone": None,
                "locale": "en_US",
                "language": "en_US",
                "country_locale": "en_US",
                "zuid": str(90000000 + i),
                "country": "US",
                "date_format": "MMM d, yyyy",
                "time_format": "HH:mm",
                "phone": None,
                "mobile": None,
                "website": None,
                "alias": None,
                "city": None,
                "state": None,
                "street": None,
                "zip": None,
                "fax": None,
                "dob": None,
                "Isonline": i == 0,
                "created_time": iso(SEED_START - 86400 * 30),
                "Modified_Time": iso(SEED_START - 86400 * 30),
                "sort_order_preference__s": "First Name,Last Name",
                "default_tab_group": "0",
                "status_reason__s": None,
                "decimal_separator": "Period",
                "number_separator": None,
                # Keys every user of Zoho's get-users sample carries (the creator refs are added below).
                # https://www.zoho.com/crm/developer/docs/api/v7/get-users.html
                "offset": 0,
                "type__s": "Regular User",
                "microsoft": False,
                "sandboxDeveloper": False,
            }
        )
    admin = {"name": users[0]["full_name"], "id": users[0]["id"]}
    # The sample's Modified_By is {name, id}; users.json requires first_name and last_name there too
    # (its "owner" schema): both are sent, which satisfies the sample and the OpenAPI file.
    names = {"first_name": users[0]["first_name"], "last_name": users[0]["last_name"]}
    for user in users:
        user["created_by"], user["Modified_By"] = dict(admin), {**admin, **names}
    return users


def _org(company: str) -> dict[str, Any]:
    return {
        "id": ORG_ID,
        "zgid": "90000001",
        "company_name": company,
        "domain_name": "org90000001",
        "alias": None,
        "primary_email": "admin@sergas-demo.example",
        "primary_zuid": "90000000",
        "currency": "US Dollar - USD",
        "currency_symbol": "$",
        "iso_code": "USD",
        "currency_locale": "en_US",
        "mc_status": False,
        "gapps_enabled": False,
        "time_zone": "Etc/UTC",
        "country": "United States",
        "country_code": "US",
        "phone": "+1-555-010-0100",
        "mobile": None,
        "fax": None,
        "website": "https://www.sergas-demo.example",
        "street": None,
        "city": None,
        "state": None,
        "zip": None,
        "description": None,
        "employee_count": "50",
        # Zoho's get-org-data sample writes "production"; org.json's enum has "Production": the enum is
        # kept (the OpenAPI contract checks it; a value, not a shape). Its sample also has created_time.
        # https://www.zoho.com/crm/developer/docs/api/v7/get-org-data.html
        "type": "Production",
        "created_time": "2018-12-02T00:00:00+00:00",
        "privacy_settings": True,
        "zia_portal_id": None,
        "photo_id": None,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "translation_enabled": False,
        "deletable_org_account": False,
        "max_per_page": 200,
        "ezgid": "90000001",
        "call_icon": "",
        "oauth_presence": False,
        "zia_zgid": 90000001,
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "checkin_preferences": {"restricted_event_types": None},
        "license_details": {
            "paid_expiry": "2027-12-31T00:00:00+00:00",
            "users_license_purchased": 25,
            "trial_type": None,
            "trial_expiry": None,
            "paid": True,
            "paid_type": "enterprise",
            "trial_action": "",
            "portal_users_license_purchased": 0,  # in the get-org-data sample's license_details
        },
    }


class _Gen:
    """One generator per seed: shared rng, id sequence, unique-name sets."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_id = FIRST_ID
        cum, total = [], 0
        for w in _PLACE_WEIGHTS:
            total += w
            cum.append(total)
        self._place_cum, self._place_total = cum, total

    def new_id(self) -> str:
        self.next_id += 1 + int(self.rng.random() * 40)
        return str(self.next_id)

    def pick(self, seq: tuple[Any, ...]) -> Any:
        return seq[int(self.rng.random() * len(seq))]

    def weighted(self, seq: tuple[Any, ...], weights: tuple[int, ...]) -> Any:
        r = self.rng.random() * sum(weights)
        for item, w in zip(seq, weights, strict=False):
            r -= w
            if r < 0:
                return item
        return seq[-1]

    def place(self) -> tuple[str, str, str]:
        r = self.rng.random() * self._place_total
        for (country, cities), c in zip(_PLACES, self._place_cum, strict=False):
            if r < c:
                city, state = cities[int(self.rng.random() * len(cities))]
                return country, city, state
        raise AssertionError("unreachable")

    def phone(self) -> str:
        r = self.rng.random
        return f"+1-{200 + int(r() * 800)}-{int(r() * 900) + 100}-{int(r() * 9000) + 1000}"

    def times(self, i: int, n: int) -> tuple[float, float]:
        """Created time grows with the record's position (ids grow with creation time, as in Zoho)."""
        span = SEED_END - SEED_START
        created = SEED_START + span * (i + self.rng.random() * 0.9) / max(n, 1)
        modified = created + (SEED_END - created) * self.rng.random() ** 2
        return created, modified


def _stamp(rec: dict[str, Any], g: _Gen, users: list[dict[str, Any]], i: int, n: int, owner: dict[str, Any]) -> None:
    created, modified = g.times(i, n)
    creator = users[0] if g.rng.random() < 0.3 else owner
    modifier = owner if g.rng.random() < 0.7 else users[int(g.rng.random() * len(users))]
    rec["Created_By"] = creator
    rec["Modified_By"] = modifier
    rec["Created_Time"] = iso(created)
    rec["Modified_Time"] = iso(modified)
    rec["Last_Activity_Time"] = iso(modified) if g.rng.random() < 0.8 else None
    rec["Tag"] = []


def user_ref(user: dict[str, Any]) -> dict[str, Any]:
    """How records point at a user (Owner, Created_By, ...): {"name", "id", "email"}."""
    return {"name": user["full_name"], "id": user["id"], "email": user["email"]}


def _company_names(g: _Gen, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    r = g.rng.random
    for _ in range(n):
        name = (
            f"{_ADJ[int(r() * len(_ADJ))]}{_NOUN[int(r() * len(_NOUN))].lower()} "
            f"{_SECTOR[int(r() * len(_SECTOR))]} {_LEGAL[int(r() * len(_LEGAL))]}"
        )
        base, k = name, 2
        while name.lower() in seen:  # Account_Name is unique in the org: disambiguate like a person would
            name, k = f"{base} {k}", k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def _accounts(g: _Gen, n: int, owners: list[dict[str, Any]], users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    r = g.rng.random
    out: dict[str, dict[str, Any]] = {}
    names = _company_names(g, n)
    ids: list[str] = []
    for i in range(n):
        rid = g.new_id()
        country, city, state = g.place()
        owner = owners[int(r() * len(owners))]
        revenue = round(min(g.rng.lognormvariate(15.0, 1.6), 5e10), 2)
        employees = max(1, int(g.rng.lognormvariate(4.0, 1.5)))
        name = names[i]
        slug = "".join(ch for ch in name.split(" ")[0].lower() if ch.isalnum())
        parent = None
        if i > 20 and r() < 0.08:
            pid = ids[int(r() * len(ids))]
            parent = {"name": out[pid]["Account_Name"], "id": pid}
        rec: dict[str, Any] = {
            "id": rid,
            "Owner": owner,
            "Account_Name": name,
            "Account_Number": f"ACC-{100000 + i}",
            "Account_Site": city if r() < 0.5 else None,
            "Parent_Account": parent,
            "Account_Type": g.weighted(
                ("Customer", "Prospect", "Partner", "Reseller", "Vendor", "Other"), (50, 25, 10, 6, 5, 4)
            ),
            "Industry": g.pick(md.INDUSTRIES),
            "Rating": g.pick(md.RATINGS) if r() < 0.7 else None,
            "Ownership": g.pick(md.OWNERSHIPS) if r() < 0.8 else None,
            "Annual_Revenue": revenue,
            "Employees": employees,
            "SIC_Code": 1000 + int(r() * 8999) if r() < 0.5 else None,
            "Phone": g.phone(),
            "Fax": g.phone() if r() < 0.2 else None,
            "Website": f"https://www.{slug}{i}.{_DOMAINS[i % 3]}",
            "Ticker_Symbol": slug[:4].upper() if r() < 0.1 else None,
        }
        street = f"{1 + int(r() * 9999)} {g.pick(_STREETS)}"
        code = f"{10000 + int(r() * 89999)}"
        for kind in ("Billing", "Shipping"):
            rec[f"{kind}_Street"] = street
            rec[f"{kind}_City"] = city
            rec[f"{kind}_State"] = state
            rec[f"{kind}_Code"] = code
            rec[f"{kind}_Country"] = country
        rec["Description"] = None if r() < 0.6 else f"{name} is a {rec['Industry'].lower()} company in {city}."
        _stamp(rec, g, users, i, n, owner)
        status = g.weighted(md.ACCOUNT_STATUSES, _ACCOUNT_STATUS_WEIGHTS)
        base_score = {"Active": 75, "At Risk": 40, "Churned": 15, "Prospect": 55}[status]
        rec["Health_Score"] = max(0, min(100, int(g.rng.gauss(base_score, 12)))) if r() < 0.95 else None
        rec["Account_Status"] = status
        created = datetime.fromisoformat(rec["Created_Time"]).timestamp()
        rec["Last_Engagement_Date"] = day(created + (SEED_END - created) * r()) if r() < 0.9 else None
        out[rid] = rec
        ids.append(rid)
    return out


def _person(g: _Gen, i: int) -> tuple[str, str, str]:
    first, last = g.pick(_FIRST), g.pick(_LAST)
    email = f"{first.lower()}.{last.lower()}.{i}@{_DOMAINS[i % 3]}"
    return first, last, email


def _leads(g: _Gen, n: int, owners: list[dict[str, Any]], users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    r = g.rng.random
    out: dict[str, dict[str, Any]] = {}
    companies = _company_names(g, n)
    for i in range(n):
        rid = g.new_id()
        first, last, email = _person(g, i)
        country, city, state = g.place()
        owner = owners[int(r() * len(owners))]
        rec: dict[str, Any] = {
            "id": rid,
            "Owner": owner,
            "Salutation": g.pick(md.SALUTATIONS) if r() < 0.5 else None,
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Company": companies[i],
            "Designation": g.pick(("CEO", "CTO", "VP Sales", "Buyer", "Manager", "Director", "Analyst")),
            "Email": email.replace("@", ".lead@", 1),
            "Phone": g.phone(),
            "Mobile": g.phone() if r() < 0.4 else None,
            "Website": None,
            "Lead_Source": g.pick(md.LEAD_SOURCES),
            "Lead_Status": g.pick(md.LEAD_STATUSES),
            "Industry": g.pick(md.INDUSTRIES),
            "No_of_Employees": max(1, int(g.rng.lognormvariate(3.5, 1.4))),
            "Annual_Revenue": round(min(g.rng.lognormvariate(14.0, 1.5), 1e10), 2),
            "Rating": g.pick(md.RATINGS) if r() < 0.5 else None,
            "Email_Opt_Out": r() < 0.1,
            "Street": f"{1 + int(r() * 9999)} {g.pick(_STREETS)}",
            "City": city,
            "State": state,
            "Zip_Code": f"{10000 + int(r() * 89999)}",
            "Country": country,
            "Description": None,
        }
        _stamp(rec, g, users, i, n, owner)
        out[rid] = rec
    return out


def _contacts(
    g: _Gen, n: int, accounts: list[dict[str, Any]], users: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    r = g.rng.random
    out: dict[str, dict[str, Any]] = {}
    for i in range(n):
        rid = g.new_id()
        first, last, email = _person(g, i)
        acc = accounts[int(r() * len(accounts))] if accounts else None
        owner = acc["Owner"] if acc else users[0]
        rec: dict[str, Any] = {
            "id": rid,
            "Owner": owner,
            "Salutation": g.pick(md.SALUTATIONS) if r() < 0.5 else None,
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Account_Name": {"name": acc["Account_Name"], "id": acc["id"]} if acc else None,
            "Email": email,
            "Secondary_Email": None,
            "Phone": g.phone(),
            "Mobile": g.phone() if r() < 0.4 else None,
            "Title": g.pick(("CEO", "CFO", "CTO", "VP Sales", "Procurement Lead", "Engineer", "Manager")),
            "Department": g.pick(("Sales", "Finance", "IT", "Operations", "Marketing", "Procurement")),
            "Lead_Source": g.pick(md.LEAD_SOURCES),
            "Date_of_Birth": None,
            "Email_Opt_Out": r() < 0.1,
            "Mailing_Street": acc["Billing_Street"] if acc else None,
            "Mailing_City": acc["Billing_City"] if acc else None,
            "Mailing_State": acc["Billing_State"] if acc else None,
            "Mailing_Zip": acc["Billing_Code"] if acc else None,
            "Mailing_Country": acc["Billing_Country"] if acc else None,
            "Description": None,
        }
        _stamp(rec, g, users, i, n, owner)
        out[rid] = rec
    return out


def _deals(
    g: _Gen, n: int, accounts: list[dict[str, Any]], contacts: list[dict[str, Any]], users: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    r = g.rng.random
    out: dict[str, dict[str, Any]] = {}
    probs = dict(zip(md.STAGES, (10, 20, 40, 60, 75, 90, 100, 0, 0), strict=False))
    for i in range(n):
        rid = g.new_id()
        acc = accounts[int(r() * len(accounts))] if accounts else None
        con = contacts[int(r() * len(contacts))] if contacts else None
        owner = acc["Owner"] if acc else users[0]
        stage = g.pick(md.STAGES)
        amount = round(min(g.rng.lognormvariate(10.5, 1.2), 1e8), 2)
        rec: dict[str, Any] = {
            "id": rid,
            "Owner": owner,
            "Deal_Name": f"{acc['Account_Name'] if acc else 'Deal'} - {g.pick(_SECTOR)} #{i + 1}",
            "Account_Name": {"name": acc["Account_Name"], "id": acc["id"]} if acc else None,
            "Contact_Name": {"name": con["Full_Name"], "id": con["id"]} if con else None,
            "Stage": stage,
            "Amount": amount,
            "Probability": probs[stage],
            "Expected_Revenue": round(amount * probs[stage] / 100, 2),
            "Type": g.pick(md.DEAL_TYPES),
            "Lead_Source": g.pick(md.LEAD_SOURCES),
            "Next_Step": None,
            "Description": None,
        }
        _stamp(rec, g, users, i, n, owner)
        created = datetime.fromisoformat(rec["Created_Time"]).timestamp()
        rec["Closing_Date"] = day(created + 86400 * (14 + int(r() * 180)))
        out[rid] = rec
    return out


def generate(
    seed: int = 42,
    accounts: int = 2000,
    *,
    user_email: str = "admin@sergas-demo.example",
    leads: int | None = None,
    contacts: int | None = None,
    deals: int | None = None,
) -> SeedData:
    """Build the whole org. Other modules scale with ``accounts`` unless given explicitly."""
    g = _Gen(seed)
    users = _users(g.rng, user_email)
    owners = [user_ref(u) for u in users]
    n_leads = accounts // 4 if leads is None else leads
    n_contacts = accounts // 2 if contacts is None else contacts
    n_deals = accounts // 2 if deals is None else deals
    acc = _accounts(g, accounts, owners, users=owners)
    acc_list = list(acc.values())
    con = _contacts(g, n_contacts, acc_list, owners)
    dls = _deals(g, n_deals, acc_list, list(con.values()), owners)
    lds = _leads(g, n_leads, owners, owners)
    # Each module's dict is already in id order (= creation order), which the store relies on.
    records = {"Leads": lds, "Accounts": acc, "Contacts": con, "Deals": dls}
    return SeedData(
        users=users,
        org=_org("Sergas Demo Org"),
        records=records,
        next_id=g.next_id,
        counts={m: len(v) for m, v in records.items()},
    )
