"""Who is calling: API keys, the `AuthContext` they resolve to, and tenancy scoping (`scope`)."""
