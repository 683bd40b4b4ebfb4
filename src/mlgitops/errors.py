"""Errors the CLI turns into exit codes: bad input is 2, a gate saying no is 1."""

from __future__ import annotations


class BadInput(Exception):
    """Input a user must fix (config, files, flags). Exit code 2; the message names file, line and fix."""

    exit_code = 2


class GateFailed(Exception):
    """A gate or policy said no. Exit code 1."""

    exit_code = 1
