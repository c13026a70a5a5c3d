"""Data commands: load, import-polisen, db upgrade, demo."""

from __future__ import annotations
