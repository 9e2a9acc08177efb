"""invitations domain: organisation administrators invite e-mail addresses."""
