"""A small accounts frame typed exactly as sergas_nb.frames types a Zoho read (see its docstring)."""

from __future__ import annotations

import pandas as pd

INDUSTRIES = ["Technology", "Healthcare", "Finance", "Retail"]
OWNERS = ["Ana Ruiz", "Ben Cole", "Chen Wu"]
COUNTRIES = ["Spain", "USA", "Germany"]
RATINGS = ["Hot", "Warm", "Cold"]
STATUSES = ["Active", "At Risk", "Churned"]


def accounts_frame(n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append({
            "id": str(5_000_000_000_000_000_000 + i),
            "Account_Name": f"{['Acme', 'Globex', 'Initech', 'umbrella'][i % 4]} {i:03d}",
            "Industry": INDUSTRIES[i % 4],
            "Owner.name": OWNERS[i % 3],
            "Owner.id": str(4_000_000_000_000_000_000 + i % 3),
            "Owner.email": f"owner{i % 3}@example.com",
            "Billing_Country": COUNTRIES[i % 3],
            "Billing_City": f"City {i % 7}",
            "Rating": RATINGS[i % 3] if i % 10 else None,
            "Account_Status": STATUSES[i % 3],
            "Annual_Revenue": None if i % 13 == 5 else float(100_000 * (i + 1)),
            "Health_Score": None if i % 11 == 3 else (i * 7) % 101,
            "Employees": 10 * (i + 1),
            "Last_Engagement_Date": f"2024-{1 + i % 12:02d}-15",
            "Modified_Time": f"2024-06-{1 + i % 28:02d}T10:00:00+00:00",
        })
    df = pd.DataFrame(rows)
    for col in ("id", "Account_Name", "Owner.name", "Owner.id", "Owner.email", "Billing_Country", "Billing_City"):
        df[col] = df[col].astype("string")
    df["Industry"] = pd.Categorical(df["Industry"], categories=sorted(INDUSTRIES))
    df["Rating"] = pd.Categorical(df["Rating"], categories=RATINGS)
    df["Account_Status"] = pd.Categorical(df["Account_Status"], categories=STATUSES)
    df["Annual_Revenue"] = df["Annual_Revenue"].astype("Float64")
    df["Health_Score"] = df["Health_Score"].astype("Int64")
    df["Employees"] = df["Employees"].astype("Int64")
    df["Last_Engagement_Date"] = pd.to_datetime(df["Last_Engagement_Date"]).astype("datetime64[us]")
    df["Modified_Time"] = pd.to_datetime(df["Modified_Time"], utc=True).astype("datetime64[us, UTC]")
    return df
