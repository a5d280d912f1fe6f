"""Entities of the first modules: forms, equipment, inventory stock, and conflict resolutions.
Other modules register theirs in their own files and import them from `shared.domain`."""

from __future__ import annotations

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register

EQUIPMENT_CLASSES = (
    "truck", "excavator", "dozer", "loader", "grader", "drill", "water_cart", "light_vehicle", "other",
)
EQUIPMENT_STATUSES = ("operating", "standby", "down", "disposed")
SHIFTS = ("day", "night")
# A 12-hour shift lasts its real time in the site's zone: 13 h on the night the clocks go back (issue 12).
MAX_SHIFT_HOURS = 13

# Two people editing one inspection form offline: what the form says is a person's decision.
FORM = register(
    EntitySpec(
        name="forms.submission",
        strategy=Strategy.MANUAL,
        fields={
            "form": FieldSpec("str", required=True, max_length=64, label="Form"),
            "title": FieldSpec("str", max_length=200, label="Title"),
            "data": FieldSpec("dict", label="Answers"),
            "submitted_by": FieldSpec("str", max_length=128),
            "status": FieldSpec("str", choices=("draft", "submitted", "reviewed")),
        },
    )
)

EQUIPMENT_UNIT = register(
    EntitySpec(
        name="equipment.unit",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "fleet_no": FieldSpec("str", required=True, max_length=32, label="Fleet number"),
            "equipment_class": FieldSpec("str", required=True, choices=EQUIPMENT_CLASSES, label="Class"),
            "make": FieldSpec("str", max_length=64, label="Make"),
            "model": FieldSpec("str", max_length=64, label="Model"),
            "serial": FieldSpec("str", max_length=64, label="Serial number"),
            "status": FieldSpec("str", choices=EQUIPMENT_STATUSES, label="Status"),
            "rental": FieldSpec("bool", label="Rental unit"),
            "rental_rate": FieldSpec("number", min=0, label="Rental rate per hour"),
            "customer": FieldSpec("str", max_length=128, label="Rental customer"),
        },
    )
)

USAGE_LOG = register(
    EntitySpec(
        name="equipment.usage_log",
        strategy=Strategy.SERVER_WINS,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "shift_date": FieldSpec("date", required=True, label="Shift date"),
            "shift": FieldSpec("str", required=True, choices=SHIFTS, label="Shift"),
            "operator": FieldSpec("str", max_length=128, label="Operator"),
            "operating_hours": FieldSpec("number", min=0, max=MAX_SHIFT_HOURS, label="Operating hours"),
            "standby_hours": FieldSpec("number", min=0, max=MAX_SHIFT_HOURS, label="Standby hours"),
            "repair_hours": FieldSpec("number", min=0, max=MAX_SHIFT_HOURS, label="Repair hours"),
            "idle_hours": FieldSpec("number", min=0, max=MAX_SHIFT_HOURS, label="Idle hours"),
            "unknown_hours": FieldSpec("number", min=0, max=MAX_SHIFT_HOURS, label="Unknown (no data)"),
            "hour_meter_start": FieldSpec("number", min=0, label="Hour meter at start"),
            "hour_meter_end": FieldSpec("number", min=0, label="Hour meter at end"),
            "source": FieldSpec("str", choices=("manual", "telematics"), label="Source"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
            # Saved anyway against a warning, for the supervisor: ["unauthorised_operator"] (D81).
            "flags": FieldSpec("list", label="Flags"),
        },
    )
)

# An hour meter reset or replaced (found by a gateway, or recorded by a person): PM counts engine hours on
# across it (shared.domain.pm.corrected_readings); `shift_date`/`shift` place it among the shift logs' readings.
METER_CORRECTION = register(
    EntitySpec(
        name="equipment.meter_correction",
        strategy=Strategy.SERVER_WINS,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "shift_date": FieldSpec("date", required=True, label="Shift date"),
            "shift": FieldSpec("str", required=True, choices=SHIFTS, label="Shift"),
            "at": FieldSpec("datetime", label="Changed at"),
            "before": FieldSpec("number", required=True, min=0, label="Old meter's last reading"),
            "after": FieldSpec("number", required=True, min=0, label="New meter's first reading"),
            "source": FieldSpec("str", choices=("manual", "telematics"), label="Source"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

# Rental terms changed at a site take effect only once HQ approves them.
RENTAL_CONTRACT = register(
    EntitySpec(
        name="equipment.rental_contract",
        strategy=Strategy.CLIENT_OVERRIDE,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "customer": FieldSpec("str", required=True, max_length=128, label="Customer"),
            "rate_per_hour": FieldSpec("number", required=True, min=0, label="Rate per hour"),
            "starts_on": FieldSpec("date", label="Starts on"),
            "ends_on": FieldSpec("date", label="Ends on"),
        },
    )
)

BREAKDOWN = register(
    EntitySpec(
        name="equipment.breakdown",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "started_at": FieldSpec("datetime", required=True, label="Start"),
            "ended_at": FieldSpec("datetime", label="End"),
            "cause": FieldSpec("str", max_length=200, label="Cause"),
            "fault_code": FieldSpec("str", max_length=64, label="Fault code"),
            "severity": FieldSpec("str", choices=("low", "medium", "high", "critical"), label="Severity"),
            "notes": FieldSpec("str", max_length=4000, label="Notes"),
            "source": FieldSpec("str", choices=("manual", "telematics"), label="Source"),
        },
    )
)

STOCK_BALANCE = register(
    EntitySpec(
        name="inventory.stock",
        strategy=Strategy.ADJUSTMENT,
        adjustable=frozenset({"on_hand"}),
        derived_by="inventory.movement",  # the hub adds each movement it books (D27)
        fields={
            "store_id": FieldSpec("str", required=True, label="Store"),
            "item_id": FieldSpec("str", required=True, label="Item"),
            "on_hand": FieldSpec("number", label="On hand"),
            "unit": FieldSpec("str", max_length=16, label="Unit"),
            # The moving-average position the hub's ledger posting keeps in step (D37): inventory = Σ value.
            "value_cents": FieldSpec("int", label="Value (cents)"),
            "last_cost": FieldSpec("str", max_length=32, label="Last receipt cost"),
        },
    )
)

CONFLICT_RESOLUTION = register(
    EntitySpec(
        name="sync.conflict_resolution",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        site_scoped=False,
        fields={
            "conflict_id": FieldSpec("str", required=True),
            "choice": FieldSpec("str", required=True, choices=("server", "client", "custom")),
            "data": FieldSpec("dict", label="Resolved values (for 'custom')"),
            "note": FieldSpec("str", max_length=2000),
        },
    )
)
