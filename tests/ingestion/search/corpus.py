"""A labelled retrieval set: generated documents, their passages, and questions with answers.

Deterministic (seeded), built from four kinds of company documents so that passages of the
same kind look alike and only the specifics tell them apart:

- product manuals (specifications, care, an error code, warranty),
- service runbooks (purpose and owner, an alert id, after-hours escalation, backups),
- incident postmortems (impact, root cause, follow-up ticket),
- HR and finance policies (each on its own topic).

Questions come in two flavours. ``paraphrase`` questions name the subject but say the rest in
other words than the passage (so matching meaning matters); ``identifier`` questions quote
only a code (an error code, an alert id, an incident number), which embeddings read poorly
and full-text search matches exactly.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Corpus", "Document", "Passage", "Question", "build_corpus"]

QuestionKind = Literal["paraphrase", "identifier"]


@dataclass(frozen=True, slots=True)
class Passage:
    key: str  # "<document>#<section>", unique
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    kind: str
    passages: tuple[Passage, ...]
    attributes: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    answer: str  # Passage.key
    kind: QuestionKind


@dataclass(frozen=True, slots=True)
class Corpus:
    documents: tuple[Document, ...]
    questions: tuple[Question, ...]


_PRODUCTS = [
    ("Halvard X3", "espresso machine"),
    ("Torvik T200", "label printer"),
    ("Aurel Breeze 5", "air purifier"),
    ("Kestrel K9", "cordless drill"),
    ("Mirelle M40", "induction hob"),
    ("Quon Q7", "robot vacuum"),
]
_CARE = [
    ("run the descaling programme with citric acid", "how often does it need limescale removed"),
    ("clean the print head with an alcohol swab", "how regularly should the nozzle be wiped"),
    ("replace the HEPA filter cartridge", "when do I swap the air cleaning insert"),
    ("grease the chuck and check the brushes", "what is the lubrication schedule"),
    (
        "wipe the glass surface with a ceramic scraper",
        "how frequently should the cooktop be scraped",
    ),
    (
        "empty the dust bin and untangle the brush roll",
        "how often must the dirt container be cleared",
    ),
]
_FAULTS = [
    ("the water pump is blocked by scale", "flush the pump with the cleaning tablet"),
    (
        "the thermal paper roll is inserted upside down",
        "turn the roll so the coating faces the head",
    ),
    ("the particle sensor is covered in dust", "blow out the sensor window with dry air"),
    ("the battery pack is above 60 degrees", "let the pack cool down before charging"),
    ("a pan without a magnetic base was detected", "use cookware that a magnet sticks to"),
    ("the cliff sensors are dirty", "wipe the four sensors under the bumper"),
]
_GENERIC_FAULTS = [
    ("the mains voltage is out of range", "plug the appliance into another socket"),
    ("the cooling fan has stalled", "remove lint from the vent grille"),
    ("a firmware update was interrupted", "hold the power button for ten seconds"),
    ("the lid or door is not fully closed", "close it until it clicks"),
    ("the temperature sensor reports nonsense", "have the sensor replaced"),
    ("the control board lost its settings", "restore factory defaults from the menu"),
]
_SERVICES = [
    ("Ledger", "records every customer payment and refund", "Payments Platform"),
    ("Beacon", "sends push notifications to the mobile apps", "Mobile Infrastructure"),
    ("Atlas", "resolves postal addresses to delivery zones", "Logistics Data"),
    ("Nimbus", "stores uploaded product images", "Media Storage"),
    ("Quarry", "runs the nightly data warehouse exports", "Analytics Engineering"),
    ("Tessera", "issues and rotates TLS certificates", "Security Engineering"),
]
_ALERT_CONDITIONS = [
    "the payment queue holds more than 5000 unprocessed messages",
    "fewer than 90 percent of notifications are delivered within a minute",
    "the geocoder answers slower than 800 ms at the 99th percentile",
    "free disk space on the object store falls under 10 percent",
    "an export job has not finished by 06:00 UTC",
    "a certificate expires in less than 14 days",
]
_PEOPLE = [
    "Priya Raman",
    "Jonas Eklund",
    "Amara Okafor",
    "Luis Ferreira",
    "Mei Tanaka",
    "Sven Holt",
]
_INCIDENTS = [
    ("checkout", "a database migration locked the orders table", "March"),
    ("search", "an expired TLS certificate on the internal load balancer", "May"),
    ("login", "a cache stampede after a configuration rollback", "July"),
    ("invoicing", "a timezone bug in the billing cron job", "August"),
    ("mobile sync", "a rate limit set ten times too low by a typo", "October"),
    ("file upload", "a full disk on the image resizing workers", "December"),
]


def build_corpus(seed: int = 20240611) -> Corpus:
    """Twenty-four documents (96 passages) and 72 questions, the same for every run."""
    rng = random.Random(seed)
    documents: list[Document] = []
    questions: list[Question] = []
    # Codes are permutations of the same digits, as real code tables are: an embedding
    # barely tells E-417 from E-471, full-text search tells them apart exactly.
    error_codes = _shuffled(rng, [f"E-{p}" for p in _permutations("417")])
    other_codes = _shuffled(rng, [f"E-{p}" for p in _permutations("358")])
    alerts = _shuffled(rng, [f"ALR-{p}" for p in _permutations("3317")])
    incidents = _shuffled(rng, [f"INC-40{p}" for p in _permutations("213")])
    for i, (name, thing) in enumerate(_PRODUCTS):
        codes = (error_codes[i], other_codes[i])
        _product(rng, i, name, thing, codes, documents, questions)
    for i, (name, purpose, team) in enumerate(_SERVICES):
        _service(rng, i, name, purpose, team, alerts[i], documents, questions)
    for i, (system, cause, month) in enumerate(_INCIDENTS):
        _incident(rng, i, system, cause, month, incidents[i], documents, questions)
    _policies(rng, documents, questions)
    return Corpus(tuple(documents), tuple(questions))


def _permutations(digits: str) -> list[str]:
    return sorted({"".join(p) for p in itertools.permutations(digits)})


def _shuffled(rng: random.Random, items: list[str]) -> list[str]:
    rng.shuffle(items)
    return items


def _doc(
    name: str, kind: str, sections: dict[str, str], attributes: dict[str, str | int]
) -> Document:
    passages = tuple(Passage(f"{name}#{key}", text) for key, text in sections.items())
    return Document(name=name, kind=kind, passages=passages, attributes=attributes)


def _product(
    rng: random.Random,
    i: int,
    name: str,
    thing: str,
    codes: tuple[str, str],
    documents: list[Document],
    questions: list[Question],
) -> None:
    weight = round(rng.uniform(1.2, 9.5), 1)
    watts = rng.choice([45, 60, 120, 650, 1350, 2200])
    days = rng.choice([14, 30, 45, 60, 90])
    years = rng.choice([2, 3, 5])
    code, other = codes
    care, care_question = _CARE[i]
    fault, fix = _FAULTS[i]
    other_fault, other_fix = _GENERIC_FAULTS[i]
    doc = f"{name} manual"
    sections = {
        "specs": f"Technical data. The {name} {thing} weighs {weight} kg and is rated at "
        f"{watts} W. It is supplied with a quick start card and a {rng.choice(['1.5', '2'])} m "
        "power cord.",
        "care": f"Care and cleaning. To keep your {name} in good condition, {care} every "
        f"{days} days. Always unplug the appliance first.",
        "error": f"Troubleshooting. When the display shows {code}, {fault}. To clear it, {fix} "
        "and restart the appliance.",
        "error2": f"More error codes. {other} means that {other_fault}; {other_fix}. If the "
        "code comes back, contact the service centre.",
        "safety": f"Safety. Keep the {thing} away from water and out of reach of children. "
        "Do not open the housing; there are no user-serviceable parts inside.",
        "warranty": f"Guarantee. The {name} is covered against manufacturing defects for "
        f"{years} years from the date on your receipt. Damage from misuse is excluded.",
    }
    documents.append(_doc(doc, "manual", sections, {"kind": "manual", "year": 2020 + i % 5}))
    questions += [
        Question(
            f"How heavy is the {name}, and how much power does it draw?",
            f"{doc}#specs",
            "paraphrase",
        ),
        Question(f"{name}: {care_question}?", f"{doc}#care", "paraphrase"),
        Question(f"My screen says {code}. What is wrong?", f"{doc}#error", "identifier"),
        Question(f"What should I do about error {other}?", f"{doc}#error2", "identifier"),
        Question(
            f"For how long will the maker repair a faulty {name} for free?",
            f"{doc}#warranty",
            "paraphrase",
        ),
    ]


def _service(
    rng: random.Random,
    i: int,
    name: str,
    purpose: str,
    team: str,
    alert: str,
    documents: list[Document],
    questions: list[Question],
) -> None:
    person = _PEOPLE[i]
    minutes = rng.choice([5, 10, 15])
    hours = rng.choice([4, 6, 12, 24])
    keep = rng.choice([7, 14, 30, 35])
    doc = f"{name} runbook"
    sections = {
        "overview": f"Overview. {name} {purpose}. The {team} team owns it and reviews its "
        "error budget every quarter.",
        "alerts": f"Alerts. {alert} fires when {_ALERT_CONDITIONS[i]}. Acknowledge it in the "
        "incident channel and follow the dashboard links in the alert.",
        "escalation": f"Escalation. Between 19:00 and 07:00 page {person}, the secondary "
        f"on-call for {name}. If nobody acknowledges within {minutes} minutes, phone the "
        "engineering manager.",
        "backups": f"Backups. The {name} database is snapshotted every {hours} hours; "
        f"snapshots are kept for {keep} days in the eu-west vault.",
        "deploys": f"Deploys. {name} ships through the standard pipeline; a canary takes 5 "
        "percent of traffic for 30 minutes before the full rollout.",
    }
    documents.append(_doc(doc, "runbook", sections, {"kind": "runbook", "year": 2021 + i % 4}))
    questions += [
        Question(f"Which group is responsible for {name}?", f"{doc}#overview", "paraphrase"),
        Question(f"What triggers {alert}?", f"{doc}#alerts", "identifier"),
        Question(
            f"Who should I call at night when {name} breaks?", f"{doc}#escalation", "paraphrase"
        ),
        Question(
            f"How long are copies of the {name} data retained?", f"{doc}#backups", "paraphrase"
        ),
    ]


def _incident(
    rng: random.Random,
    i: int,
    system: str,
    cause: str,
    month: str,
    number: str,
    documents: list[Document],
    questions: list[Question],
) -> None:
    ticket = f"OPS-{rng.randint(1000, 9999)}"
    minutes = rng.randint(18, 240)
    users = rng.randint(2, 90) * 100
    doc = f"Postmortem {number}"
    sections = {
        "impact": f"Impact. On {rng.randint(2, 27)} {month} the {system} service was "
        f"unavailable for {minutes} minutes and about {users} customers saw errors.",
        "cause": f"Root cause of {number}: {cause}. Monitoring did not page because the "
        "health check kept passing.",
        "actions": f"Follow-up for {number}: the fix is tracked in {ticket}; a game day will "
        "rehearse the failure before the next release freeze.",
        "timeline": f"Timeline of {number}. Customer support raised the first report, the "
        "on-call engineer joined ten minutes later and declared an incident.",
    }
    documents.append(_doc(doc, "postmortem", sections, {"kind": "postmortem", "year": 2023}))
    questions += [
        Question(
            f"How many people were hit by the {system} outage in {month}?",
            f"{doc}#impact",
            "paraphrase",
        ),
        Question(f"Why did {number} happen?", f"{doc}#cause", "identifier"),
    ]


def _policies(rng: random.Random, documents: list[Document], questions: list[Question]) -> None:
    hours = rng.choice([6, 8])
    per_diem = rng.choice([55, 60, 70])
    weeks = rng.choice([16, 18, 20])
    days_home = rng.choice([2, 3])
    laptop = rng.choice([3, 4])
    budget = rng.choice([1500, 2000, 2500])
    policies = {
        "Travel policy": (
            {
                "flights": f"Air travel. Book economy for flights shorter than {hours} hours. "
                "Longer flights may be booked in premium economy; business class needs "
                "written approval from a vice president.",
                "meals": f"Meals and lodging. The daily allowance for meals is {per_diem} EUR; "
                "hotels must be booked through the travel portal.",
            },
            [
                ("Am I allowed to sit in a more comfortable cabin on a long trip?", "flights"),
                ("How much can I spend on food per day while away on business?", "meals"),
            ],
        ),
        "Parental leave policy": (
            {
                "leave": f"Leave. Every new parent receives {weeks} weeks of fully paid leave, "
                "which can be split into up to three blocks within the first year.",
                "return": "Returning to work. During the first month back, parents may work "
                "reduced hours at full pay.",
            },
            [
                ("How much paid time off do I get after my baby is born?", "leave"),
                ("Can I work part-time at full salary right after my leave ends?", "return"),
            ],
        ),
        "Remote work policy": (
            {
                "days": f"Working from home. Employees may work remotely up to {days_home} days "
                "a week; team days are agreed with the manager.",
                "abroad": "Working abroad. Remote work from another country is limited to 20 "
                "days per calendar year for tax reasons.",
            },
            [
                ("How many days each week may I stay home to work?", "days"),
                ("Can I spend a month working from a beach in Portugal?", "abroad"),
            ],
        ),
        "Equipment policy": (
            {
                "laptops": f"Laptops. Staff laptops are replaced every {laptop} years, or sooner "
                "when IT confirms a hardware fault.",
                "peripherals": "Peripherals. A monitor, keyboard and headset for the home office "
                "can be expensed once, up to 400 EUR in total.",
            },
            [
                ("When will I get a new notebook computer?", "laptops"),
                ("Will the company pay for a screen for my desk at home?", "peripherals"),
            ],
        ),
        "Learning policy": (
            {
                "budget": f"Learning budget. Each employee has {budget} EUR per year for "
                "courses, books and conferences.",
                "time": "Study time. Up to five working days a year may be used for training "
                "without taking holiday.",
            },
            [
                ("How much money can I use for professional development?", "budget"),
                ("Do I need to take vacation to attend a workshop?", "time"),
            ],
        ),
        "Expense policy": (
            {
                "receipts": "Receipts. Submit expenses with itemised receipts within 30 days; "
                "claims older than 90 days are rejected.",
                "mileage": "Mileage. Business trips in a private car are reimbursed at 0.30 EUR "
                "per kilometre.",
            },
            [
                ("What is the deadline for handing in my costs?", "receipts"),
                ("What do I get back for driving my own vehicle for work?", "mileage"),
            ],
        ),
    }
    for i, (name, (sections, asked)) in enumerate(policies.items()):
        documents.append(_doc(name, "policy", sections, {"kind": "policy", "year": 2022 + i % 3}))
        questions += [Question(text, f"{name}#{key}", "paraphrase") for text, key in asked]
