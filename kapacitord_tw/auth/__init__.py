"""Authentication and authorization: users, privileges, credential checks."""
