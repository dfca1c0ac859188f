"""Life stories: how children go missing education and are found, and the ordinary life around them.

Each story changes the world's truth (homes, school rolls, episodes) and records the signals
partners would send about it; partners' formats and their data quality come later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.simulation.calendar import add_school_days, is_school_day, next_school_day, school_days_before
from services.simulation.config import read_csv
from services.simulation.model import PLACE_ABROAD, PLACE_ELSEWHERE, PLACE_HOME, Child, Episode, Family, School, Stay
from services.simulation.world import Weighted, World

OTHER_LAS = ("380", "352", "330")  # authorities outside the simulation that families move to and from


class Stories:
    """The stories of one world; every method draws from the world's one random stream."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.rng
        self.busy: dict[str, date] = {}  # family id -> the day its current story ends
        self.airports = {r["airport"]: r["country"] for r in read_csv("airports.csv")}

    # choosing who ----------------------------------------------------------------------------
    def _free(self, family: Family, day: date) -> bool:
        return self.busy.get(family.id, date.min) < day

    def _hold(self, family: Family, until: date) -> None:
        self.busy[family.id] = max(self.busy.get(family.id, date.min), until)

    def family_on_roll(self, la: str, day: date, *, weighted: bool = True, tries: int = 400) -> Family | None:
        """A family living in ``la`` on ``day`` with children on a school roll, free of other stories."""
        families = self.w.families
        top = max(g.risk for g in self.w.groups.values())
        for _ in range(tries):
            family = families[self.rng.randrange(len(families))]
            if weighted and self.rng.random() * top > self.w.groups[family.group].risk:
                continue
            stay = family.stay_on(day)
            if stay is None or stay.la != la or not self._free(family, day):
                continue
            if any(c.school_on(day) is not None for c in family.children):
                return family
        return None

    def child_on_roll(self, la: str, day: date, years: tuple[int, int] = (0, 11)) -> Child | None:
        """One child on a roll in ``la`` within the national curriculum years given."""
        for _ in range(200):
            family = self.family_on_roll(la, day, weighted=True)
            if family is None:
                return None
            kids = [c for c in family.children if c.school_on(day) and years[0] <= self._year(c) <= years[1]]
            if kids:
                return self.rng.choice(kids)
        return None

    def _year(self, child: Child) -> int:
        return child.year_group(self.w.config.academic_year)

    def _on_roll(self, family: Family, day: date) -> list[Child]:
        return [c for c in family.children if c.school_on(day) is not None]

    # shared steps ------------------------------------------------------------------------------
    def episode(self, child: Child, la: str, reason: str, start: date, length: float, new: bool, story: str) -> Episode:
        """Open a CME episode; its end is set by the story when the child is found or placed."""
        end = next_school_day(start + timedelta(days=max(3, round(length))))
        ep = Episode(self.w.next_id("E"), child, la, reason, start, end, None, new, story)
        self.w.episodes.append(ep)
        return ep

    def settle(self, ep: Episode, outcome: str) -> bool:
        """Close ``ep`` with its outcome when it ends inside the simulation; False when still open."""
        if ep.end is not None and ep.end > self.w.config.end:
            ep.end = None
            return False
        ep.outcome = outcome
        return True

    def admit(self, child: Child, la: str, day: date, previous: School | None, pru: bool = False) -> None:
        """Put ``child`` on a roll in ``la`` and send the new-pupil return within five school days."""
        w = self.w
        school = w.schools[la]["pru"][0] if pru else w.school_for(la, self._year(child))
        child.leave_school(day)
        w.enrol(child, school, day)
        w.signal(
            "admission", add_school_days(day, self.rng.randint(0, 5)), child, la, view_day=day,
            school=school, admission_date=day, previous=previous,
            previous_la=previous.la if previous else (child.arrived_from if child.arrived_from not in (
                None, PLACE_ABROAD, PLACE_ELSEWHERE) else None),
        )

    def delete(self, child: Child, day: date, ground: str, **details: Any) -> School | None:
        """Take ``child`` off roll with a regulation 9 ground and send the deletion return."""
        school = child.school_on(day - timedelta(days=1)) or child.school_on(day)
        if school is None:
            return None
        child.leave_school(day)
        self.w.signal("deletion", day, child, school.la, view_day=day - timedelta(days=1), school=school,
                      ground=ground, deleted_on=day, **details)
        return school

    def ctf(self, child: Child, day: date, school: School, destination: str | School) -> None:
        """A CTF leaves ``school``: to a school, or ``XXX`` (unknown) / ``MMM`` (outside the sector)."""
        self.w.signal("ctf", day, child, school.la, view_day=day - timedelta(days=1), school=school,
                      destination=destination, leaving_date=day)

    def health_address(self, child: Child, moved: date, la: str) -> None:
        """The GP registration catches up with a move: a PDS change of address (if it ever does)."""
        if self.rng.random() < float(self.w.dials["coverage"]["health_address_change"]):
            day = moved + timedelta(days=self.rng.randint(5, 60))
            self.w.signal("health_address", day, child, la, moved_on=moved)

    def enquiry(self, child: Child, day: date, from_la: str, to_la: str, known_on: date, case: str | None) -> None:
        """One authority asks its neighbour whether a child it cannot find is known there."""
        if self.rng.random() < float(self.w.dials["coverage"]["enquiry_to_neighbour"]):
            self.w.signal("enquiry", day, child, to_la, view_day=known_on, from_la=from_la, to_la=to_la,
                          case_reference=case)

    def fly(self, family: Family, children: list[Child], day: date, direction: str, country: str, la: str) -> None:
        """The family on a passenger list, arriving in or leaving the UK."""
        w, rng = self.w, self.rng
        group = w.groups[family.group]
        abroad = [a for a in group.airports if self.airports.get(a) == country] or list(group.airports)
        far = rng.choice(abroad)
        uk = rng.choice(w.dials["uk_airports"])
        carrier = rng.choice(w.dials["carriers"][uk])
        number = f"{carrier}{(sum(map(ord, far + uk)) * 7) % 900 + 100}"  # a route keeps its flight number
        departs = datetime.combine(day, time(rng.choice((6, 9, 12, 15, 18)), rng.choice((0, 15, 30, 45))), UTC)
        arrives = departs + timedelta(hours=rng.choice((2, 3, 4, 7)))
        origin, dest = (far, uk) if direction == "arrival" else (uk, far)
        flight = {"number": number, "carrier": carrier, "origin": origin, "destination": dest,
                  "departs": departs, "arrives": arrives, "direction": direction,
                  "country": self.airports.get(far, country), "pnr": f"{rng.randrange(36**6):06X}"[-6:]}
        for child in children:
            w.signal("border", day, child, la, flight=flight, adults=family.parents, nationality=group.nationality)

    # CME stories --------------------------------------------------------------------------------
    def arrived_from_abroad(self, la: str, day: date, length: float) -> int:
        """A family arrives from abroad and the children wait for a school place."""
        w, rng = self.w, self.rng
        family, surname = w.new_family(la, w.arrival_mix[la].draw(rng))
        country = w.groups[family.group].nationality
        family.stays.append(Stay(w.t0 - timedelta(days=3000), None, PLACE_ABROAD, None,
                                 "ESP" if country == "GBR" else country, None))
        family.move(day, Stay(day, None, PLACE_HOME, w.new_home(la), None, la))
        sizes = Weighted([1, 2, 3, 4], [float(x) for x in w.dials["families"]["new_arrival_children_weights"]])
        kids = w.add_children(family, surname, sizes.draw(rng), (0, 11), w.config.academic_year)
        for child in kids:
            child.arrived_on, child.arrived_from = day, PLACE_ABROAD
        if rng.random() < float(w.dials["coverage"]["border_record"]):
            self.fly(family, kids, day, "arrival", family.stays[0].country or "ESP", la)
        last = day
        for child in kids:
            w.register_at_birth(child)  # the NHS number comes with the first GP registration
            if rng.random() < float(w.dials["coverage"]["health_new_registration"]):
                w.signal("health_patient", day + timedelta(days=rng.randint(7, 45)), child, la, new_registration=True)
            ep = self.episode(child, la, "arrived_from_abroad_no_place", day, length, True, "arrived_from_abroad")
            if self.settle(ep, "admitted_local"):
                assert ep.end is not None
                self.admit(child, la, ep.end, None)
                last = max(last, ep.end)
            else:
                last = w.config.end
        self._hold(family, last)
        return len(kids)

    def arrived_from_other_la(self, la: str, day: date, length: float) -> int:
        """A family moves in from another authority and the children have no place yet."""
        w, rng = self.w, self.rng
        neighbour = next(x for x in w.config.size_of if x != la)
        family = self.family_on_roll(neighbour, day - timedelta(days=14)) if rng.random() < 0.4 else None
        starts: dict[str, date] = {}
        moved = day - timedelta(days=rng.randint(3, 14))
        if family is not None:  # from the simulated neighbour: its schools delete them, a lost CTF follows
            kids = self._on_roll(family, moved)
            new_home = w.new_home(la)
            family.move(moved, Stay(moved, None, PLACE_HOME, new_home, None, la))
            left = next_school_day(day)
            for child in kids:
                child.arrived_on, child.arrived_from = moved, neighbour
                starts[child.id] = left
                school = self.delete(child, left, "9(1)(g)", new_address=new_home, new_address_from=moved)
                if school and rng.random() < float(w.dials["coverage"]["lost_ctf"]):
                    self.ctf(child, add_school_days(left, rng.randint(0, 5)), school, "XXX")
                self.enquiry(child, add_school_days(left, rng.randint(5, 15)), neighbour, la, moved, None)
        else:  # from an authority outside the simulation: they simply appear
            origin = rng.choice(OTHER_LAS)
            family, surname = w.new_family(la)
            family.stays.append(Stay(w.t0 - timedelta(days=2000), None, PLACE_HOME, w.new_home(origin), None, origin))
            family.move(day, Stay(day, None, PLACE_HOME, w.new_home(la), None, la))
            kids = w.add_children(family, surname, rng.choice((1, 1, 2, 2, 3)), (0, 11), w.config.academic_year)
            first = next(iter(sorted(w.schools[la]["primary"], key=lambda s: s.estab)))
            for child in kids:
                w.register_at_birth(child)
                child.upn = w.issue_upn(School(origin, first.estab, "0", "", "primary", ""), child.dob.replace(
                    year=child.dob.year + 5))
                child.arrived_on, child.arrived_from = day, origin
        last = day
        for child in kids:
            self.health_address(child, day, la)
            ep = self.episode(child, la, "arrived_from_other_la_no_place", starts.get(child.id, day), length, True,
                              "arrived_from_other_la")
            if self.settle(ep, "admitted_local"):
                assert ep.end is not None
                previous = next((e.school for e in reversed(child.enrolments)), None)
                self.admit(child, la, ep.end, previous)
                last = max(last, ep.end)
            else:
                last = w.config.end
        self._hold(family, last)
        return len(kids)

    def left_destination_unknown(self, la: str, day: date, length: float) -> int:
        """A family stops coming to school and cannot be found; where they really went is the truth."""
        w, rng = self.w, self.rng
        deleted = next_school_day(day)
        day = school_days_before(deleted, 21)  # the last day they attended
        family = self.family_on_roll(la, day)
        if family is None:
            return 0
        kids = self._on_roll(family, day)
        shares = w.dials["left_destination"]
        where = Weighted(list(shares), [float(v) for v in shares.values()]).draw(rng)
        neighbour = next(x for x in w.config.size_of if x != la)
        moved = day + timedelta(days=rng.randint(0, 6))
        country = w.groups[family.group].nationality
        country = "ESP" if country == "GBR" else country
        if where == "neighbour":
            family.move(moved, Stay(moved, None, PLACE_HOME, w.new_home(neighbour), None, neighbour))
        elif where == "elsewhere_in_england":
            other = rng.choice(OTHER_LAS)
            family.move(moved, Stay(moved, None, PLACE_ELSEWHERE, w.new_home(other), None, other))
        elif where == "abroad":
            family.move(moved, Stay(moved, None, PLACE_ABROAD, None, country, None))
            if rng.random() < float(w.dials["coverage"]["border_record"]):
                self.fly(family, kids, moved, "departure", country, la)
        else:
            family.move(moved, Stay(moved, None, PLACE_HOME, w.new_home(la), None, la))
        last = day
        for child in kids:
            school = child.school_on(day)
            assert school is not None
            first_absent = next_school_day(day + timedelta(days=1))
            if rng.random() < float(w.dials["coverage"]["absence_referral"]):
                w.signal("absence", add_school_days(first_absent, 10), child, la, view_day=day, school=school,
                         first_absence=first_absent, last_attended=day, days=10, codes="N")
            self.delete(child, deleted, "9(1)(i)", last_attended=day, joint_enquiries=True)
            if rng.random() < float(w.dials["coverage"]["lost_ctf"]):
                self.ctf(child, add_school_days(deleted, rng.randint(0, 4)), school, "XXX")
            ep = self.episode(child, la, "left_destination_unknown", deleted, length, False, f"left_to_{where}")
            self.enquiry(child, add_school_days(deleted, rng.randint(1, 10)), la, neighbour, day, ep.id)
            if where in ("neighbour", "stayed_local"):
                target = neighbour if where == "neighbour" else la
                if where == "neighbour":
                    self.health_address(child, moved, target)
                if self.settle(ep, "found_other_la" if where == "neighbour" else "admitted_local"):
                    assert ep.end is not None
                    self.admit(child, target, ep.end, school if rng.random() < 0.5 else None)
            elif where == "elsewhere_in_england":
                self.health_address(child, moved, la)
                self.settle(ep, "found_other_la")
            else:
                self.settle(ep, "confirmed_abroad")
            last = max(last, ep.end or w.config.end)
        self._hold(family, last)
        return len(kids)

    def not_returned_from_abroad(self, la: str, day: date, length: float) -> int:
        """A family travels abroad in term time and the children are not back after the agreed leave."""
        w, rng = self.w, self.rng
        deleted = next_school_day(day)
        day = school_days_before(deleted, 20)  # ten days' leave, then ten days not back
        family = self.family_on_roll(la, day)
        if family is None:
            return 0
        kids = self._on_roll(family, day)
        country = w.groups[family.group].nationality
        country = "ESP" if country == "GBR" else country
        family.move(day, Stay(day, None, PLACE_ABROAD, None, country, None))
        if rng.random() < float(w.dials["coverage"]["border_record"]):
            self.fly(family, kids, day, "departure", country, la)
        back = rng.random() < 0.5
        last = day
        episodes = []
        for child in kids:
            school = self.delete(child, deleted, "9(1)(h)", last_attended=day - timedelta(days=1),
                                 joint_enquiries=True)
            ep = self.episode(child, la, "not_returned_from_abroad", deleted, length, False,
                              "returned" if back else "stayed_abroad")
            episodes.append(ep)
            if back:
                if self.settle(ep, "returned_admitted"):
                    assert ep.end is not None
                    self.admit(child, la, ep.end, school)
            elif self.settle(ep, "confirmed_abroad") and school is not None:
                assert ep.end is not None
                self.ctf(child, ep.end, school, "MMM")
            last = max(last, ep.end or w.config.end)
        if back:
            returned = min((e.end for e in episodes if e.end), default=None)
            if returned is not None:
                home_day = returned - timedelta(days=rng.randint(3, 20))
                family.move(home_day, Stay(home_day, None, PLACE_HOME, w.new_home(la), None, la))
                if rng.random() < float(w.dials["coverage"]["border_record"]):
                    self.fly(family, kids, home_day, "arrival", country, la)
        self._hold(family, last)
        return len(kids)

    def home_education_unsuitable(self, la: str, day: date, length: float) -> int:
        """A child withdrawn for home education is found not to be receiving a suitable one."""
        w, rng = self.w, self.rng
        day = next_school_day(day)
        child = self.child_on_roll(la, day - timedelta(days=62), (3, 11))
        if child is None:
            return 0
        withdrawn = next_school_day(day - timedelta(days=rng.randint(20, 60)))
        school = self.delete(child, withdrawn, "9(1)(f)")
        ep = self.episode(child, la, "home_education_unsuitable", day, length, False, "ehe_unsuitable")
        if self.settle(ep, "admitted_local"):
            assert ep.end is not None
            self.admit(child, la, ep.end, school)
        self._hold(child.family, ep.end or w.config.end)
        return 1

    def excluded_no_placement(self, la: str, day: date, length: float) -> int:
        """A permanently excluded pupil waits for a placement past the sixth day."""
        w = self.w
        start = next_school_day(day)
        day = school_days_before(start, 6)  # a placement is due from the sixth school day
        child = self.child_on_roll(la, day, (5, 11))
        if child is None:
            return 0
        school = self.delete(child, day, "9(1)(o)")
        ep = self.episode(child, la, "excluded_no_placement", start, length, False, "excluded")
        if self.settle(ep, "placed_pru"):
            assert ep.end is not None
            self.admit(child, la, ep.end, school, pru=True)
        self._hold(child.family, ep.end or w.config.end)
        return 1

    def missing_whereabouts_unknown(self, la: str, day: date, length: float) -> int:
        """A young person goes missing, is reported to the police and is off roll before being found."""
        w, rng = self.w, self.rng
        deleted = next_school_day(day)
        day = school_days_before(deleted, 21)
        child = self.child_on_roll(la, day, (6, 11))
        if child is None:
            return 0
        school = child.school_on(day)
        reported = datetime.combine(day, time(rng.randint(16, 23), rng.choice((0, 20, 40))), UTC)
        ref = f"{w.authorities[la]['force_code']}-{reported:%y%m%d}{rng.randint(0, 9999):04d}"
        w.signal("police_missing", day, child, la, reference=ref, reported_at=reported, risk="high",
                 last_seen=child.family.stay_on(day), school=school)
        first_absent = next_school_day(day + timedelta(days=1))
        if rng.random() < float(w.dials["coverage"]["absence_referral"]):
            w.signal("absence", add_school_days(first_absent, 10), child, la, view_day=day, school=school,
                     first_absence=first_absent, last_attended=day, days=10, codes="N")
        self.delete(child, deleted, "9(1)(i)", last_attended=day, joint_enquiries=True, safeguarding=True)
        ep = self.episode(child, la, "missing_whereabouts_unknown", deleted, length, False, "missing")
        if self.settle(ep, "found_readmitted"):
            assert ep.end is not None
            found = ep.end - timedelta(days=rng.randint(2, 10))
            if rng.random() < float(w.dials["coverage"]["police_found_notice"]):
                found_at = datetime.combine(found, time(rng.randint(0, 23), rng.choice((5, 25, 45))), UTC)
                w.signal("police_found", found, child, la, reference=ref, found_at=found_at, reported_at=reported,
                         where=w.new_home(rng.choice(list(w.config.size_of))))
            self.admit(child, la, ep.end, school)
        self._hold(child.family, ep.end or w.config.end)
        return 1

    # ordinary life ------------------------------------------------------------------------------
    def school_transfer(self, la: str, day: date) -> int:
        """Pupils move to known schools; the paperwork flows as it should. Returns the pupils moved."""
        w, rng = self.w, self.rng
        day = next_school_day(day)
        family = self.family_on_roll(la, day, weighted=False)
        if family is None:
            return 0
        shares = w.dials["rates"]["transfer_destination"]
        where = Weighted(list(shares), [float(v) for v in shares.values()]).draw(rng)
        neighbour = next(x for x in w.config.size_of if x != la)
        target = {"same_la": la, "neighbour": neighbour}.get(where, rng.choice(OTHER_LAS))
        kids = self._on_roll(family, day)
        if where == "same_la":
            kids = [rng.choice(kids)]  # one child changes school; the family may stay put
        starts = add_school_days(day, rng.randint(1, 5))
        if where != "same_la" or rng.random() < 0.5:
            family.move(day, Stay(day, None, PLACE_HOME if where != "elsewhere" else PLACE_ELSEWHERE,
                                  w.new_home(target), None, target))
            for child in kids:
                self.health_address(child, day, target if target in w.config.size_of else la)
        for child in kids:
            old = child.school_on(day)
            assert old is not None
            if where == "elsewhere":
                primary = self._year(child) <= 6
                estab = rng.randint(2000, 2999) if primary else rng.randint(4000, 4999)
                new = School(target, str(estab), str(rng.randint(150_000, 159_999)),
                             f"{w.authorities[target]['name']} {'Primary' if primary else 'High'} School",
                             "primary" if primary else "secondary", "")
            else:
                new = w.school_for(target, self._year(child))
                if new == old:
                    new = w.school_for(target, self._year(child))
            self.delete(child, day, "9(1)(a)", new_school=new, new_school_start=starts)
            self.ctf(child, add_school_days(day, rng.randint(0, 10)), old, new)
            if where == "elsewhere":
                child.leave_school(day)
                w.enrol(child, new, starts)  # on a roll outside the simulation
            else:
                self.admit(child, target, starts, old)
        self._hold(family, starts + timedelta(days=30))
        return len(kids)

    def house_move(self, la: str, day: date) -> None:
        """A family moves house within the authority; health records follow, schools stay."""
        family = self.family_on_roll(la, day, weighted=False)
        if family is None:
            return
        family.move(day, Stay(day, None, PLACE_HOME, self.w.new_home(la), None, la))
        for child in self._on_roll(family, day):
            self.health_address(child, day, la)
        self._hold(family, day + timedelta(days=60))

    def gp_update(self, la: str, day: date) -> None:
        """A routine change to a child's NHS record (GP practice or details)."""
        child = self.child_on_roll(la, day)
        if child is not None:
            child.gp_ods = f"B86{self.rng.randint(0, 999):03d}"
            self.w.signal("health_patient", day, child, la, new_registration=False)

    def absence_resolved(self, la: str, day: date) -> None:
        """Ten days' unexplained absence is referred, and the child comes back."""
        day = next_school_day(day)
        child = self.child_on_roll(la, day)
        if child is None:
            return
        first = next_school_day(day + timedelta(days=1))
        self.w.signal("absence", add_school_days(first, 10), child, la, view_day=day, school=child.school_on(day),
                      first_absence=first, last_attended=day, days=10 + self.rng.randint(0, 3),
                      codes=self.rng.choice(("N", "O", "G;N", "O;N")))
        self._hold(child.family, add_school_days(first, 15))

    def runaway(self, la: str, day: date) -> None:
        """A young person with repeated short missing episodes, each reported and closed by police."""
        w, rng = self.w, self.rng
        child = self.child_on_roll(la, day, (6, 11))
        if child is None:
            return
        when = day
        for _ in range(rng.choice((1, 1, 2, 3, 4))):
            if when > w.config.end:
                break
            reported = datetime.combine(when, time(rng.randint(17, 23), rng.choice((0, 15, 30, 45))), UTC)
            ref = f"{w.authorities[la]['force_code']}-{reported:%y%m%d}{rng.randint(0, 9999):04d}"
            w.signal("police_missing", when, child, la, reference=ref, reported_at=reported,
                     risk=rng.choice(("low", "medium", "medium", "high")), last_seen=child.family.stay_on(when),
                     school=child.school_on(when))
            found_at = reported + timedelta(hours=rng.randint(2, 40))
            if rng.random() < float(w.dials["coverage"]["police_found_notice"]):
                w.signal("police_found", found_at.date(), child, la, reference=ref, found_at=found_at,
                         reported_at=reported, where=child.family.stay_on(when).home if rng.random() < 0.6  # type: ignore[union-attr]
                         else w.new_home(la))
            when = when + timedelta(days=rng.randint(7, 40))
        self._hold(child.family, when)

    def encompass(self, la: str, day: date) -> None:
        """An Operation Encompass notice reaches the school before the next school day."""
        child = self.child_on_roll(la, day)
        if child is None:
            return
        incident = datetime.combine(day, time(self.rng.randint(0, 23), self.rng.choice((10, 35, 50))), UTC)
        force = self.w.authorities[la]["force_code"]
        ref = f"{force}-{incident:%y%m%d}{self.rng.randint(0, 9999):04d}"
        self.w.signal("encompass", day, child, la, reference=ref, incident_at=incident, school=child.school_on(day))

    def holiday(self, la: str, day: date) -> None:
        """A family flies abroad for a week in the holidays and comes back."""
        family = self.family_on_roll(la, day, weighted=False)
        if family is None:
            return
        kids = self._on_roll(family, day)
        group = self.w.groups[family.group]
        country = self.airports.get(self.rng.choice(group.airports), "ESP")
        back = day + timedelta(days=self.rng.randint(6, 10))
        self.fly(family, kids, day, "departure", country, la)
        self.fly(family, kids, back, "arrival", country, la)
        self._hold(family, back)


def holiday_days(start: date, end: date) -> list[date]:
    """Days families fly out on: Saturdays in holidays inside the period (any Saturday if none)."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    saturdays = [d for d in days if d.weekday() == 5]
    out = [d for d in saturdays if not is_school_day(d - timedelta(days=1)) or not is_school_day(d + timedelta(days=2))]
    return out or saturdays or days
