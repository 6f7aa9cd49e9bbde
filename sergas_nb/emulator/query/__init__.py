"""Zoho's two query languages for the emulator: search criteria and COQL."""

from sergas_nb.emulator.query.coql import Catalog, run_coql
from sergas_nb.emulator.query.criteria import compile_criteria, email_matcher, phone_matcher, word_matcher

__all__ = ["Catalog", "compile_criteria", "email_matcher", "phone_matcher", "run_coql", "word_matcher"]
