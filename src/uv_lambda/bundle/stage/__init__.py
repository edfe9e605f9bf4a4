"""Stage: which application files ship, and who owns each name."""
