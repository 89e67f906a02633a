"""Quality: deviations, their statements and their search."""
