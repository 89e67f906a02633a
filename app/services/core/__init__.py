"""What every domain shares: the audit trail, the site and backups."""
