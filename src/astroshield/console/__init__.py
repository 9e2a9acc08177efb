"""The operator console (issue 19): a static TypeScript front end, built from ``console/``
by ``make console`` into ``console/dist`` here, served at ``/console/`` by ``serving``.
Every action it takes goes through the public JSON API with the cookie session."""
