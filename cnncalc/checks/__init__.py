"""Budgets and expectations for `cnncalc check`: parse the `checks:` section, measure, compare.

`parse` runs while a spec loads (so it imports nothing heavy); `measure.run_checks` evaluates
checks on a built graph; `run.check_file` does both for one file and is what the CLI calls.
"""
