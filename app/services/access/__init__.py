"""Who may do what: sign-in, users, tablets, outbox tokens and TLS."""
