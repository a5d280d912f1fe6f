"""Telematics reconciliation: per operator and shift, the hours the gateways measured on the machines the
operator ran, the hours people logged for them, and the time they were clocked in.

Rules (issue 14):
- A line is flagged for review when, by more than the site's threshold (strictly more; equal passes):
  `logged_vs_gateway`  logged and gateway hours differ;
  `machine_over_attendance`  machine hours (the larger of logged and gateway) exceed clocked time;
  or `no_attendance`  machine hours exist with no clocked time at all.
  A missing measure (a machine with no gateway, nobody logged) is not a difference: it is not compared.
- A line that is not flagged is accepted as it stands: paid hours = attendance hours, machine hours = the
  gateway's (the logged hours when no gateway measured).
- A flagged line waits until a supervisor decides, always with a reason:
  `accept`  the measures stand (same figures as an unflagged line);
  `correct` the supervisor gives the paid hours (and machine hours, else the unflagged rule's);
  `reject`  nothing of the line is paid or billed (0 and 0) until a new claim is logged.
- Accepted hours are what payroll pays and rental billing bills; a period with open lines cannot be exported.
Hours are Decimal, rounded to 0.01 h. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.people import MAX_ATTENDANCE_HOURS
from shared.errors import ValidationError

CENT = Decimal("0.01")
DECISIONS = ("accept", "correct", "reject")


def hours(value: float | Decimal | None) -> Decimal | None:
    """Hours as the reconciliation keeps them: Decimal to 0.01 h (floats go through their shortest repr)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    employee_id: str
    shift_date: date
    shift: str  # day | night
    gateway_hours: Decimal | None
    logged_hours: Decimal | None
    attendance_hours: Decimal | None
    equipment_ids: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.employee_id}:{self.shift_date.isoformat()}:{self.shift}"

    @property
    def machine_hours(self) -> Decimal | None:
        """What the machines ran for: the gateway's measure when there is one."""
        return self.gateway_hours if self.gateway_hours is not None else self.logged_hours


@dataclass(frozen=True)
class Decision:
    key: str  # Line.key
    decision: str  # accept | correct | reject
    reason: str
    paid_hours: Decimal | None = None  # for correct
    machine_hours: Decimal | None = None  # for correct (optional)


@dataclass(frozen=True)
class Accepted:
    paid_hours: Decimal
    machine_hours: Decimal


@dataclass(frozen=True)
class Outcome:
    accepted: dict[str, Accepted]  # by Line.key
    open: list[str]  # flagged lines without a decision, sorted


def flags(line: Line, threshold: Decimal) -> list[str]:
    """Why a line needs a person (empty: it does not)."""
    if threshold < 0:
        raise ValidationError("the site's threshold is negative", {"threshold_hours": "must be 0 or more"})
    found: list[str] = []
    g, lg, att = line.gateway_hours, line.logged_hours, line.attendance_hours
    if g is not None and lg is not None and abs(lg - g) > threshold:
        found.append("logged_vs_gateway")
    machine = max((h for h in (g, lg) if h is not None), default=None)
    if machine is not None and machine > 0:
        if att is None:
            found.append("no_attendance")
        elif machine - att > threshold:
            found.append("machine_over_attendance")
    return found


def review_payload(line: Line, threshold: Decimal) -> dict[str, object] | None:
    """The `hr.reconciliation_review` payload for a flagged line (id: `Line.key`), None when not flagged."""
    found = flags(line, threshold)
    if not found:
        return None

    def num(h: Decimal | None) -> float | None:
        return None if h is None else float(h)

    payload: dict[str, object] = {
        "employee_id": line.employee_id, "shift_date": line.shift_date.isoformat(), "shift": line.shift,
        "equipment_ids": sorted(line.equipment_ids), "threshold_hours": float(threshold), "flags": found,
        "decision": "open",
    }
    for name, value in (("gateway_hours", line.gateway_hours), ("logged_hours", line.logged_hours),
                        ("attendance_hours", line.attendance_hours)):
        if value is not None:
            payload[name] = num(value)
    return payload


def check_decision(line: Line, decision: Decision) -> None:
    """ValidationError naming the field to fix when a decision is incomplete or impossible."""
    if decision.decision not in DECISIONS:
        raise ValidationError(f"unknown decision {decision.decision!r}",
                              {"decision": "must be accept, correct or reject"})
    if not decision.reason.strip():
        raise ValidationError(f"{decision.decision} needs a reason", {"reason": "say why (it is audited)"})
    if decision.decision != "correct":
        if decision.paid_hours is not None or decision.machine_hours is not None:
            raise ValidationError("hours are given only with a correction",
                                  {"paid_hours": "leave empty, or choose correct"})
        return
    if decision.paid_hours is None:
        raise ValidationError("a correction needs the paid hours", {"paid_hours": "enter the hours to pay"})
    limit = Decimal(MAX_ATTENDANCE_HOURS)
    for name, value in (("paid_hours", decision.paid_hours), ("machine_hours", decision.machine_hours)):
        if value is not None and not (0 <= value <= limit):
            raise ValidationError(f"{name} {value} is outside 0 to {limit} h", {name: f"must be 0 to {limit} hours"})


def _as_is(line: Line) -> Accepted:
    return Accepted(line.attendance_hours or Decimal(0), line.machine_hours or Decimal(0))


def reconcile(lines: Iterable[Line], thresholds: Mapping[str, Decimal] | Decimal,
              decisions: Iterable[Decision] = (), site_of: Mapping[str, str] | None = None) -> Outcome:
    """Accepted hours per line, and the flagged lines still open.

    `thresholds` is one threshold, or a threshold per site with `site_of` giving each line's site by key.
    The last decision given for a line is the one that counts (the caller passes them in decision order)."""
    by_key = {d.key: d for d in decisions}
    accepted: dict[str, Accepted] = {}
    open_keys: list[str] = []
    for line in lines:
        if isinstance(thresholds, Decimal):
            threshold = thresholds
        else:
            site = (site_of or {}).get(line.key)
            if site is None or site not in thresholds:
                raise ValidationError(f"no reconciliation threshold for the site of {line.key}",
                                      {"threshold_hours": f"set one for site {site or '(unknown)'}"})
            threshold = thresholds[site]
        if not flags(line, threshold):
            accepted[line.key] = _as_is(line)
            continue
        decision = by_key.get(line.key)
        if decision is None:
            open_keys.append(line.key)
            continue
        check_decision(line, decision)
        if decision.decision == "accept":
            accepted[line.key] = _as_is(line)
        elif decision.decision == "reject":
            accepted[line.key] = Accepted(Decimal(0), Decimal(0))
        else:
            assert decision.paid_hours is not None  # check_decision made sure
            machine = decision.machine_hours if decision.machine_hours is not None else _as_is(line).machine_hours
            accepted[line.key] = Accepted(decision.paid_hours, machine)
    return Outcome(accepted, sorted(open_keys))


@dataclass(frozen=True)
class UsageLog:
    """An `equipment.usage_log` reduced to what reconciliation reads."""

    equipment_id: str
    shift_date: date
    shift: str
    operating_hours: Decimal
    source: str  # manual | telematics
    operator: str | None = None  # on manual logs: who ran it (the gateway does not know)


@dataclass(frozen=True)
class Lines:
    lines: list[Line]
    # Machine hours a gateway measured in a shift nobody logged the machine for: (equipment, date, shift, hours).
    unattributed: list[tuple[str, date, str, Decimal]]
    unknown_operators: list[str]  # operator names on manual logs that match no employee


def lines_from_logs(logs: Iterable[UsageLog], attendance_hours: Mapping[tuple[str, date, str], Decimal],
                    employee_of: Mapping[str, str]) -> Lines:
    """Reconciliation lines from the shift's usage logs and attendance.

    - logged hours: the operator's manual logs summed; their machines are the line's equipment.
    - gateway hours: each machine's telematics hours in the shift, shared among the operators who logged it
      in proportion to their logged hours (equally when all logged 0), so two operators sharing a truck are
      each compared with their part of it. A machine without a telematics log gives no gateway hours.
    - attendance hours: keyed by (employee id, shift date, shift); every clocked person gets a line, so
      payroll reads accepted hours for everyone, operators or not.
    `employee_of` maps the names written on usage logs (and employee ids) to employee ids."""
    logged: dict[tuple[str, date, str], Decimal] = {}
    per_machine: dict[tuple[str, date, str], dict[str, Decimal]] = {}
    gateway: dict[tuple[str, date, str], Decimal] = {}
    unknown: set[str] = set()
    for log in logs:
        shift_key = (log.equipment_id, log.shift_date, log.shift)
        if log.source == "telematics":
            gateway[shift_key] = gateway.get(shift_key, Decimal(0)) + log.operating_hours
            continue
        if not log.operator:
            continue
        employee = employee_of.get(log.operator)
        if employee is None:
            unknown.add(log.operator)
            continue
        key = (employee, log.shift_date, log.shift)
        logged[key] = logged.get(key, Decimal(0)) + log.operating_hours
        by_operator = per_machine.setdefault(shift_key, {})
        by_operator[employee] = by_operator.get(employee, Decimal(0)) + log.operating_hours
    gateway_share: dict[tuple[str, date, str], Decimal] = {}
    equipment: dict[tuple[str, date, str], set[str]] = {}
    for (equipment_id, day, shift), by_operator in per_machine.items():
        total = sum(by_operator.values(), Decimal(0))
        for employee, own in by_operator.items():
            key = (employee, day, shift)
            equipment.setdefault(key, set()).add(equipment_id)
            measured = gateway.get((equipment_id, day, shift))
            if measured is None:
                continue
            share = measured * own / total if total > 0 else measured / len(by_operator)
            gateway_share[key] = gateway_share.get(key, Decimal(0)) + share
    unattributed = sorted((e, d, s, hours(h) or Decimal(0)) for (e, d, s), h in gateway.items()
                          if (e, d, s) not in per_machine and h > 0)
    keys = sorted(set(logged) | set(attendance_hours))
    lines = [Line(employee, day, shift, hours(gateway_share.get((employee, day, shift))),
                  hours(logged.get((employee, day, shift))), hours(attendance_hours.get((employee, day, shift))),
                  tuple(sorted(equipment.get((employee, day, shift), set()))))
             for employee, day, shift in keys]
    return Lines(lines, unattributed, sorted(unknown))
