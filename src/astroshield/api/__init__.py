"""HTTP plumbing shared by routers: dependencies, pagination."""
