"""The internal columns that travel between modules, declared once.

Frames passed from reading to qualifying to measuring carry columns of their own beside the
data: where a row came from, which lead an entry belongs to, each stage's evidence and
result. Their names start with ``__`` so they never clash with a file's header. Columns a
single function makes and drops again stay local to it.
"""

from __future__ import annotations

ROW = "__row"  # 1-based data-row number in its file (for examples in findings)
FILE = "__file"  # the file a row came from (a categorical)
MAYBE_SHORT = "__maybe_short"  # last cell empty: a row to look at for raggedness
LEAD_KEY = "__lead_row"  # an entry's lead, as the lead's position in the leads frame
HASH = "__hash"  # 64-bit hash of an id, for the hash join
EXIT = "__exit"  # a transition into an exit stage (lost, disqualified…)
SCORE_COL = "__score"
REVENUE = "__revenue"  # a lead's revenue in micro-units (its deals summed), null: none known
RAW_REVENUE = "__raw_revenue"  # the revenue cell as written, for examples


def dim_col(dimension: str) -> str:
    """A scoring dimension's points."""
    return f"__dim_{dimension}"


def date_col(stage_id: str) -> str:
    """A stage's date from a leads column (``date_column:``), parsed."""
    return f"__date_{stage_id}"


def raw_date_col(stage_id: str) -> str:
    """The same date as the file wrote it (for examples of bad dates)."""
    return f"__raw_date_{stage_id}"


def first_col(stage_id: str) -> str:
    """``first[s]``: the lead's earliest CRM record of the stage."""
    return f"__first_{stage_id}"


def crm_col(stage_id: str) -> str:
    """``crm[s]``: the earliest record of the stage or any later one."""
    return f"__crm_{stage_id}"


def ok_col(stage_id: str) -> str:
    """``ok[s]``: the stage's ``requires`` holds."""
    return f"__ok_{stage_id}"


def reached_col(stage_id: str) -> str:
    """``reached[s]``."""
    return f"__reached_{stage_id}"


def at_col(stage_id: str) -> str:
    """``at[s]``: when the lead reached the stage."""
    return f"__at_{stage_id}"
