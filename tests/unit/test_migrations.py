"""The migration rule the journal and the store share: known steps not yet applied, in order;
a database with a step this program does not know is refused."""

from __future__ import annotations

import pytest

from records.migrations import NewerDatabase, pending


class TestPending:
    def test_a_new_database_needs_every_step_in_order(self) -> None:
        """Nothing applied: every known step, in the order given."""
        assert ["0001-a", "0002-b"] == pending(["0001-a", "0002-b"], [])

    def test_the_previous_schema_needs_the_newer_steps(self) -> None:
        """A database one release behind gets only the steps it lacks."""
        assert ["0002-b"] == pending(["0001-a", "0002-b"], ["0001-a"])

    def test_an_up_to_date_database_needs_nothing(self) -> None:
        """All applied: nothing to do."""
        assert [] == pending(["0001-a", "0002-b"], ["0002-b", "0001-a"])

    def test_a_step_this_program_does_not_know_is_refused(self) -> None:
        """A newer release's step (a rollback to an older binary) raises, naming it."""
        with pytest.raises(NewerDatabase) as caught:
            pending(["0001-a"], ["0001-a", "0002-b", "0003-c"])
        assert ["0002-b", "0003-c"] == caught.value.unknown
