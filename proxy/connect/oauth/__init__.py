"""TEMPORARY (H-wixzoho): a stand-in for H-flow's OAuth framework package
(SPEC-15 section 2), so the Wix and Zoho flows can be written and tested
before i15-flow lands. Removed before ``git merge i15-flow``."""
