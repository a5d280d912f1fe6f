"""Word lists for the seed generator (`shared.domain.seed`): what a mine site's fleet, store and
vendors are called. Data only."""

from __future__ import annotations

# (equipment class, fleet prefix, average operating hours per day)
CLASS_MIX: tuple[tuple[str, str, float], ...] = (
    ("truck", "DT", 17.0), ("truck", "DT", 16.0), ("truck", "DT", 18.0), ("excavator", "EX", 16.5),
    ("loader", "WL", 14.0), ("dozer", "DZ", 13.0), ("grader", "GR", 11.0), ("drill", "DR", 15.0),
    ("water_cart", "WC", 10.0), ("light_vehicle", "LV", 6.0),
)

# (category, unit, nouns, typical price)
ITEM_WORDS: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    ("spares", "ea", ("Oil filter", "Fuel filter", "Air filter", "Hydraulic filter", "Alternator", "Starter motor",
                      "Water pump", "Fan belt", "Hydraulic hose", "Seal kit", "Bearing", "Injector", "Turbo"), 120.0),
    ("consumables", "ea", ("Cable tie", "Rag bundle", "Grease cartridge", "Fuse", "Globe", "Hose clamp"), 6.0),
    ("lubricants", "l", ("Engine oil 15W-40", "Hydraulic oil 68", "Gear oil 85W-140", "Coolant"), 4.0),
    ("ground_engaging", "ea", ("Bucket tooth", "Adapter", "Cutting edge", "Ripper tip", "Wear plate"), 260.0),
    ("tyres", "ea", ("Tyre 27.00R49", "Tyre 18.00R33", "Tyre 17.5R25", "Tube", "Rim ring"), 4_000.0),
    ("ppe", "pair", ("Gloves", "Safety glasses", "Ear plugs", "Boots"), 15.0),
    ("tools", "ea", ("Torque wrench", "Socket set", "Pry bar", "Grease gun"), 90.0),
)

MAKES: tuple[str, ...] = ("Caterpillar", "Komatsu", "Hitachi", "Liebherr", "Volvo", "Epiroc", "Sandvik", "Toyota")

VENDOR_WORDS: tuple[str, ...] = (
    "Pilbara", "Goldfields", "Outback", "Western", "Iron", "Red Earth", "Coastal", "Hydraulic", "Diesel",
    "Mining", "Industrial", "Supply", "Parts", "Tyre", "Engineering", "Services", "Bearing", "Fluid Power",
)

NAMES: tuple[str, ...] = (
    "alex", "bianca", "chen", "dave", "emma", "farid", "grace", "hamish", "isla", "jack", "kirra", "liam",
    "mia", "noah", "olivia", "priya", "quinn", "ruby", "sam", "tara",
)

BREAKDOWN_CAUSES: tuple[str, ...] = (
    "Hydraulic leak", "Engine overheating", "Flat tyre", "Electrical fault", "Brake fault", "Cracked bucket",
    "Transmission fault", "Air conditioning failure", "Fuel contamination", "Steering fault",
)
