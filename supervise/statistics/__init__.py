"""The leader's cockpit (issue 14): figures computed in SQL from the live records, within what
the reader may see (`figures`), and the same figures under /api/v1/statistics (`api`)."""
