"""Authentication: login, token rotation, logout, browser sessions."""
