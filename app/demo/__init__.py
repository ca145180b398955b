"""Demo data behind ``flask seed-demo``: a believable continuing-education college in one transaction.

Everything comes from one ``random.Random(seed)``, so the same seed gives the same students, numbers and
scores (only dates relative to today — batch windows, terms already taken — follow the calendar). Students,
grades and the other per-student rows go in through Core bulk inserts: 2,000 students with their grades
load in seconds on SQLite.

The fixed demo student ``2020010001`` (2020级 高起本, first teaching site) meets every graduation and degree
condition, so the whole workflow can be walked through with the accounts listed in ``DEMO_ACCOUNTS``.

Modules: ``college`` (organisations, majors, plan shapes: data), ``people`` (names, 身份证号, accounts, the
photo), ``terms`` (the term calendar), ``plans`` / ``people`` / ``grades`` (what the generator draws),
``generator`` (the one Random, drawn in a fixed order), ``seed`` (``seed_demo``: writing it all).
"""
from app.demo.college import DEMO_PASSWORD, DEMO_STUDENT_NO
from app.demo.people import DEMO_ACCOUNTS, demo_photo_bytes, id_card_check_digit, id_card_is_valid
from app.demo.seed import has_data, seed_demo
from app.demo.terms import term_end, term_name

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "DEMO_STUDENT_NO",
    "demo_photo_bytes",
    "has_data",
    "id_card_check_digit",
    "id_card_is_valid",
    "seed_demo",
    "term_end",
    "term_name",
]
