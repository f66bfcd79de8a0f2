"""A seeded mutation fuzzer for funnel, in the spirit of SQLite's ``fuzzcheck``.

Each case copies a small sample project (leads, spend, transitions and traffic, each as CSV,
Parquet or an Excel workbook), mutates one or two of its files — bytes,
CSV structure, the YAML policy, Parquet column types, the workbook's XML — and runs one
command (``report``, ``check``, ``score``, ``sql``) with random options. Faults of the world
must give a clear message and a documented exit code; a *crash* is:

- exit 70 (an internal error), a Python traceback, or any exit code funnel does not document;
- a signal, or a hang (longer than ``--timeout`` seconds);
- a destroyed or half-written output: a failed run that changed the ``--output`` file that
  was there before, or left a temp file beside it; a successful one whose output is empty
  or not the format asked for.

Run by hand for as long as you like (``python -m tools.fuzz --cases 5000 --subprocess``);
each distinct crash is written to ``--out`` with the files and the command that reproduce
it. ``tests/test_fuzz.py`` runs a bounded, seeded slice in process so that nothing found
comes back.
"""

from tools.fuzz.cases import make_base
from tools.fuzz.run import fuzz, run_case, run_in_process

__all__ = ["fuzz", "make_base", "run_case", "run_in_process"]
