"""Password accounts: sign-up and sign-in, sessions (access and refresh tokens), password
rules and hashing, the sealed credential store and the failed sign-in throttle."""
