"""The floor: drafts and answers, what is due, shifts, photos, downtime and its reasons."""
