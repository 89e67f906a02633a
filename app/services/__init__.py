"""Services hold the rules; they never touch request, session or flash."""
