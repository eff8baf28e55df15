"""Rate limits: named rules, client keys, and limiters kept in process or in Redis."""
