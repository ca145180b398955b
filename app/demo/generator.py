"""The one Random every demo value is drawn from, in a fixed order (same seed, same college)."""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from app.demo.grades import GradeDraws
from app.demo.people import PeopleDraws
from app.demo.plans import PlanDraws


class Generator(PlanDraws, PeopleDraws, GradeDraws):
    """Draws every demo value from one Random in a fixed order."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self._codes: dict[str, str] = {}
        self._next_code: dict[str, int] = defaultdict(int)
        self._id_cards: set[str] = set()
